//! The admin console as a browser sees it: an admin account, signed in through
//! `/login?next=admin`, and forms posted with the session's CSRF token.

use reqwest::StatusCode;

use crate::helpers::TestApp;
use crate::helpers::browser::{Browser, hidden, location};

pub const ADMIN_PASSWORD: &str = "console-admin-password";

pub struct Console {
    pub browser: Browser,
    /// The issuer: console paths are `{issuer}/admin/...`.
    pub issuer: String,
    pub username: String,
    pub user_id: String,
    /// The session's CSRF token (every console page carries it).
    pub csrf: String,
}

/// Creates a user (admin when `admin`), as the admin API would, and returns their id.
pub async fn create_user(app: &TestApp, username: &str, password: &str, admin: bool) -> String {
    let row = warden::admin::users::create(
        &app.state.store,
        warden::admin::users::NewUser {
            username: username.into(),
            password: password.into(),
            role: if admin {
                warden::domain::Role::Admin
            } else {
                warden::domain::Role::None
            },
        },
        warden::clock::Clock::now(&*app.clock),
        &warden::domain::Actor::cli(),
    )
    .await
    .unwrap();
    row.id
}

/// Signs `username` in on the login page reached from `/admin`; returns the browser.
pub async fn signed_in(app: &TestApp, username: &str, password: &str) -> Browser {
    let mut browser = Browser::new();
    let first = browser.get(&app.url("/admin/resources")).await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    assert!(location(&first).ends_with("/login?next=admin"), "{first:?}");
    let login = browser.get(&app.url("/login?next=admin")).await;
    let html = login.text().await.unwrap();
    assert_eq!(hidden(&html, "next"), "admin");
    let response = browser
        .post(
            &app.url("/login"),
            &[
                ("csrf", &hidden(&html, "csrf")),
                ("username", username),
                ("password", password),
                ("next", "admin"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).ends_with("/admin"), "{response:?}");
    browser
}

/// A fresh admin (`root`), signed in to the console.
pub async fn console_admin(app: &TestApp) -> Console {
    console_as(app, "root").await
}

/// A fresh admin named `username`, signed in to the console.
pub async fn console_as(app: &TestApp, username: &str) -> Console {
    let user_id = create_user(app, username, ADMIN_PASSWORD, true).await;
    let browser = signed_in(app, username, ADMIN_PASSWORD).await;
    let mut console = Console {
        browser,
        issuer: app.issuer.clone(),
        username: username.into(),
        user_id,
        csrf: String::new(),
    };
    let (status, html) = console.page("/resources").await;
    assert_eq!(status, 200, "{html}");
    console.csrf = hidden(&html, "csrf");
    console
}

impl Console {
    pub fn url(&self, path: &str) -> String {
        format!("{}/admin{path}", self.issuer)
    }

    /// GETs `/admin{path}`: the status and the page.
    pub async fn page(&mut self, path: &str) -> (u16, String) {
        let url = self.url(path);
        let response = self.browser.get(&url).await;
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    /// POSTs a console form to `/admin{path}` with the session's CSRF token.
    pub async fn submit(&mut self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut form = vec![("csrf", self.csrf.as_str())];
        form.extend_from_slice(fields);
        let url = self.url(path);
        self.browser.post(&url, &form).await
    }

    /// `submit`, expecting a redirect: returns where to (under the issuer).
    pub async fn submit_ok(&mut self, path: &str, fields: &[(&str, &str)]) -> String {
        let response = self.submit(path, fields).await;
        let status = response.status();
        let to = response
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        let body = response.text().await.unwrap();
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        to.unwrap()
    }

    /// A destructive form: posted with the admin's password, as the re-check page does
    /// when the last password is older than five minutes.
    pub async fn submit_confirmed(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut form = fields.to_vec();
        form.push(("reauth_password", ADMIN_PASSWORD));
        self.submit(path, &form).await
    }
}
