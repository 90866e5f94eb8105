//! The `oauth2` crate's HTTP calls go through Warden's SSRF-safe fetcher: same address
//! checks, no redirects, time limit and body cap as every other outbound request.

use crate::fetch::{FetchError, FetchKind, Fetcher};

const MAX_TOKEN_RESPONSE_BYTES: usize = 64 * 1024;

pub async fn send(
    fetcher: &Fetcher,
    request: oauth2::HttpRequest,
) -> Result<oauth2::HttpResponse, oauth2::HttpClientError<FetchError>> {
    let (parts, body) = request.into_parts();
    let url = url::Url::parse(&parts.uri.to_string())
        .map_err(|e| oauth2::HttpClientError::Other(format!("not a URL: {e}")))?;
    let mut outbound = reqwest::Request::new(parts.method, url);
    *outbound.headers_mut() = parts.headers;
    *outbound.body_mut() = Some(body.into());
    let got = fetcher
        .send(FetchKind::Upstream, outbound, MAX_TOKEN_RESPONSE_BYTES)
        .await
        .map_err(|e| oauth2::HttpClientError::Reqwest(Box::new(e)))?;
    let mut response = oauth2::http::Response::builder().status(got.status);
    for (name, value) in &got.headers {
        response = response.header(name, value);
    }
    response
        .body(got.body.to_vec())
        .map_err(oauth2::HttpClientError::Http)
}
