//! Which address a per-address limit counts: the TCP peer, unless the peer is a trusted
//! proxy (`WARDEN_TRUSTED_PROXIES`); then the rightmost untrusted hop of `Forwarded` /
//! `X-Forwarded-For`, with IPv6 counted by /64. Observed through the /authorize rate.

use super::{Warden, interactive_client};

/// A valid unauthenticated authorization request with these forwarding headers; returns
/// the status (303 to the login page when stored, 429 when the address is over its rate).
async fn authorize(
    warden: &Warden,
    client_id: &str,
    http: &reqwest::Client,
    headers: &[(&str, String)],
) -> u16 {
    let mut request = http.get(super::authorize_url(warden, client_id));
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    request.send().await.unwrap().status().as_u16()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn forwarding_headers_from_an_untrusted_peer_are_ignored() {
    let mut warden = Warden::new(&[("WARDEN_AUTHORIZE_RATE_LIMIT", "5")]).await;
    let (client_id, _) = interactive_client(&warden);
    warden.serve().await;
    let http = client();
    let mut statuses = Vec::new();
    for i in 0..12u32 {
        let headers = [
            (
                "x-forwarded-for",
                format!("203.0.{}.{}", i / 200, i % 200 + 1),
            ),
            ("forwarded", format!("for=198.51.100.{}", i + 1)),
        ];
        statuses.push(authorize(&warden, &client_id, &http, &headers).await);
    }
    let keys = warden
        .count("SELECT COUNT(*) FROM login_throttle WHERE key LIKE 'authorize:%'")
        .await;
    println!("untrusted forwarding headers: {statuses:?}; {keys} address keys counted");
    assert_eq!(&statuses[..5], [303; 5]);
    assert_eq!(
        &statuses[5..],
        [429; 7],
        "made-up addresses do not escape the limit"
    );
    assert_eq!(keys, 1, "one address: the real peer");
}

#[tokio::test]
async fn behind_a_trusted_proxy_forwarded_addresses_count_separately_and_ipv6_by_its_64() {
    let mut warden = Warden::new(&[
        ("WARDEN_AUTHORIZE_RATE_LIMIT", "3"),
        ("WARDEN_TRUSTED_PROXIES", "127.0.0.1"),
    ])
    .await;
    let (client_id, _) = interactive_client(&warden);
    warden.serve().await;
    let http = client();
    let xff = |v: String| [("x-forwarded-for", v)];

    // Ten clients behind the proxy: ten addresses, none over its rate.
    let mut distinct = Vec::new();
    for i in 1..=10 {
        distinct.push(authorize(&warden, &client_id, &http, &xff(format!("203.0.113.{i}"))).await);
    }
    // One client that writes its own X-Forwarded-For: the proxy's hop (rightmost) counts.
    let mut spoofing = Vec::new();
    for i in 1..=5 {
        let chain = format!("6.6.6.{i}, 198.51.100.77");
        spoofing.push(authorize(&warden, &client_id, &http, &xff(chain)).await);
    }
    // Addresses of one IPv6 /64 are one client; another /64 is another.
    let mut same_64 = Vec::new();
    for i in 1..=5 {
        same_64.push(
            authorize(
                &warden,
                &client_id,
                &http,
                &xff(format!("2001:db8:1:2::{i:x}")),
            )
            .await,
        );
    }
    let other_64 = authorize(&warden, &client_id, &http, &xff("2001:db8:1:3::1".into())).await;
    // RFC 7239 `Forwarded`, with a quoted IPv6 address and port, in the same /64.
    let forwarded = authorize(
        &warden,
        &client_id,
        &http,
        &[(
            "forwarded",
            "for=\"[2001:db8:1:2:ffff::9]:4711\"".to_owned(),
        )],
    )
    .await;

    // /metrics' loopback rule looks at the real peer, whatever the headers say.
    let metrics = http
        .get(warden.url("/metrics"))
        .header("x-forwarded-for", "203.0.113.200")
        .send()
        .await
        .unwrap()
        .status();
    println!(
        "trusted proxy: distinct {distinct:?}, spoofed chain {spoofing:?}, same /64 \
         {same_64:?}, other /64 {other_64}, Forwarded in the same /64 {forwarded}, \
         /metrics with X-Forwarded-For {metrics}"
    );
    assert_eq!(distinct, [303; 10], "distinct forwarded addresses");
    assert_eq!(
        spoofing,
        [303, 303, 303, 429, 429],
        "the rightmost hop counts"
    );
    assert_eq!(same_64, [303, 303, 303, 429, 429], "one /64, one client");
    assert_eq!(other_64, 303, "another /64");
    assert_eq!(forwarded, 429, "Forwarded names the same /64");
    assert_eq!(metrics, 200, "/metrics from the loopback peer");
}
