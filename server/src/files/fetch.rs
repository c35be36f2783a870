//! [`Files::upload_from_url`]: the server fetches a remote file into a route, refusing
//! private, loopback, link-local and other non-global addresses (no SSRF) unless the app
//! allows them. Every address is checked before a connection is opened: names through the
//! client's resolver (all the addresses a name resolves to must be allowed, so a name cannot
//! smuggle one in), IP literals and each redirect's target before it is followed; no proxy is
//! used (it would resolve and connect past the checks). The body
//! streams through the route's checks with a size limit and an overall timeout.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use futures_util::TryStreamExt;
use http_acl::HttpAcl;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;
use serde_json::Value;

use super::upload::UploadSource;
use super::Files;
use crate::error::{ErrorCode, UploadError};
use crate::protocol::FileInfo;

/// How [`Files::upload_from_url`] fetches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchOptions {
    /// The whole fetch, redirects and body included. Default 30 s.
    pub timeout: Duration,
    /// Most bytes taken (the route's own limits apply too). Default: the route's.
    pub max_bytes: Option<u64>,
    /// Redirects followed, each checked like the first address. Default 5.
    pub max_redirects: usize,
    /// Allow private, loopback, link-local and other non-global addresses (an app fetching
    /// from its own network on purpose). Default `false`.
    pub allow_private: bool,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            timeout: Duration::from_secs(30),
            max_bytes: None,
            max_redirects: 5,
            allow_private: false,
        }
    }
}

fn acl(allow_private: bool) -> HttpAcl {
    HttpAcl::builder()
        .http(true)
        .https(true)
        .non_global_ip_ranges(allow_private)
        .ip_acl_default(true)
        .port_acl_default(true)
        .host_acl_default(true)
        .build()
}

/// Whether a fetch may connect to `ip`: global unicast addresses always; private, loopback,
/// link-local, unique-local, shared (CGNAT), documentation, benchmarking, reserved and
/// unspecified ones, and IPv6 forms that embed an IPv4 address (mapped, compatible, NAT64,
/// 6to4), only with `allow_private`; multicast never (no HTTP server is there).
pub fn fetch_allowed(ip: &IpAddr, allow_private: bool) -> bool {
    !ip.is_multicast() && acl(allow_private).is_ip_allowed(ip).is_allowed()
}

fn refused() -> UploadError {
    UploadError::new(
        ErrorCode::Forbidden,
        "the URL leads to a private, loopback or link-local address",
    )
}

fn failed(what: impl std::fmt::Display) -> UploadError {
    UploadError::new(
        ErrorCode::FetchFailed,
        format!("the file could not be fetched: {what}"),
    )
}

/// Why the client stopped before connecting: an address that may not be fetched. Raised by the
/// resolver and the redirect policy, found again in the error's source chain.
#[derive(Debug)]
struct NotAllowed;

impl std::fmt::Display for NotAllowed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an address that may not be fetched")
    }
}

impl std::error::Error for NotAllowed {}

fn not_allowed(e: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if s.is::<NotAllowed>() {
            return true;
        }
        source = s.source();
    }
    false
}

/// The client's resolver: a name resolves only when every address it has is allowed.
struct CheckedResolver {
    allow_private: bool,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            if addrs.is_empty() || !addrs.iter().all(|a| fetch_allowed(&a.ip(), allow_private)) {
                return Err(Box::new(NotAllowed) as Box<dyn std::error::Error + Send + Sync>);
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// An IP literal host must be allowed; a name is checked when it is resolved.
fn literal_allowed(url: &Url, allow_private: bool) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    // The URL parser has turned every IPv4 spelling (decimal, hex, octal) into dotted form,
    // and keeps IPv6 literals in brackets.
    let literal = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    match literal.parse::<IpAddr>() {
        Ok(ip) => fetch_allowed(&ip, allow_private),
        Err(_) => true,
    }
}

/// The file name a URL suggests: its last path segment, or `download`.
fn name_of(url: &Url) -> String {
    url.path_segments()
        .and_then(|mut s| s.next_back().map(str::to_string))
        .filter(|s| !s.is_empty())
        .and_then(|s| {
            percent_encoding::percent_decode_str(&s)
                .decode_utf8()
                .ok()
                .map(|c| c.into_owned())
        })
        .unwrap_or_else(|| "download".into())
}

impl Files {
    /// Fetches `url` and uploads it into the route `slug`, as [`Files::upload`] does. Refused
    /// (`FORBIDDEN`) before any connection when the URL, any address its host resolves to or a
    /// redirect leads to a private, loopback or link-local address, unless
    /// `options.allow_private`; `INVALID_INPUT` for a URL that is not `http(s)`;
    /// `FETCH_FAILED` when the remote server answers with an error or takes longer than
    /// `options.timeout`; `TOO_LARGE` past `options.max_bytes` or the route's limit.
    pub async fn upload_from_url(
        &self,
        slug: &str,
        url: &str,
        options: &FetchOptions,
        metadata: Value,
    ) -> Result<FileInfo, UploadError> {
        let url = Url::parse(url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| {
                UploadError::new(ErrorCode::InvalidInput, "the URL must be http(s)://host/…")
            })?;
        let allow_private = options.allow_private;
        if !literal_allowed(&url, allow_private) {
            return Err(refused());
        }
        let max_redirects = options.max_redirects;
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > max_redirects {
                attempt.error("too many redirects")
            } else if !literal_allowed(attempt.url(), allow_private) {
                attempt.error(NotAllowed)
            } else {
                attempt.follow()
            }
        });
        let client = reqwest::Client::builder()
            // A proxy would resolve and connect to the target itself, past the checks.
            .no_proxy()
            .dns_resolver(Arc::new(CheckedResolver { allow_private }))
            .redirect(redirects)
            .timeout(options.timeout)
            .connect_timeout(options.timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| UploadError::internal_msg(format!("the HTTP client: {e}")))?;
        let res = client.get(url.clone()).send().await.map_err(|e| {
            if not_allowed(&e) {
                refused()
            } else if e.is_timeout() {
                failed("it took too long")
            } else {
                failed(e.without_url())
            }
        })?;
        if !res.status().is_success() {
            return Err(failed(format!(
                "the server answered {}",
                res.status().as_u16()
            )));
        }
        if let (Some(max), Some(len)) = (options.max_bytes, res.content_length()) {
            if len > max {
                return Err(UploadError::new(
                    ErrorCode::TooLarge,
                    format!("the file has {len} bytes; at most {max} are taken"),
                ));
            }
        }
        let content_type = res
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/octet-stream")
            .to_string();
        let name = name_of(res.url());
        let max = options.max_bytes.unwrap_or(u64::MAX);
        let mut taken: u64 = 0;
        let body = res
            .bytes_stream()
            .map_err(|e| e.without_url().to_string())
            .and_then(move |chunk| {
                taken += chunk.len() as u64;
                let over = taken > max;
                async move {
                    if over {
                        Err(format!("more than {max} bytes"))
                    } else {
                        Ok(chunk)
                    }
                }
            });
        let source = UploadSource {
            name,
            content_type,
            body,
        };
        self.upload(slug, source, metadata).await.map_err(|e| {
            if e.code() == ErrorCode::SizeMismatch && e.message().contains("more than") {
                UploadError::new(
                    ErrorCode::TooLarge,
                    format!("the file has more than {max} bytes"),
                )
            } else if e.code() == ErrorCode::SizeMismatch {
                failed(e.message())
            } else {
                e
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn non_global_addresses_are_refused_and_allowed_only_on_purpose() {
        let refused = [
            // IPv4: loopback, private, link-local, shared (CGNAT), unspecified, broadcast,
            // documentation, benchmarking, reserved, multicast, IETF protocol assignments.
            "127.0.0.1",
            "127.255.255.254",
            "10.0.0.1",
            "10.255.255.255",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.0.1",
            "192.168.255.255",
            "169.254.169.254",
            "169.254.0.1",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "198.18.0.1",
            "198.19.255.255",
            "240.0.0.1",
            "192.0.0.8",
            // IPv6: loopback, unspecified, unique local, link-local, multicast, documentation,
            // and the forms that embed an IPv4 address (mapped, compatible, translated,
            // NAT64, 6to4).
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "::ffff:0:7f00:1",
            "64:ff9b::7f00:1",
            "64:ff9b:1::1",
            "2002:7f00:1::1",
            "2002:a00:1::1",
            "100::1",
        ];
        for addr in refused {
            assert!(!fetch_allowed(&ip(addr), false), "{addr} must be refused");
            assert!(
                fetch_allowed(&ip(addr), true),
                "{addr} is allowed when private is"
            );
        }
        for addr in [
            "224.0.0.1",
            "224.0.1.1",
            "239.255.255.255",
            "ff02::1",
            "ff0e::1",
        ] {
            assert!(!fetch_allowed(&ip(addr), false), "{addr}: multicast");
            assert!(
                !fetch_allowed(&ip(addr), true),
                "{addr}: multicast, even allowed"
            );
        }
        for addr in [
            "93.184.216.34",
            "1.1.1.1",
            "8.8.8.8",
            "2606:4700:4700::1111",
            "2a00:1450:4001::200e",
        ] {
            assert!(fetch_allowed(&ip(addr), false), "{addr} is global");
        }
    }

    #[test]
    fn literal_hosts_are_checked_and_names_wait_for_the_resolver() {
        let url = |s: &str| Url::parse(s).unwrap();
        assert!(!literal_allowed(&url("http://127.0.0.1:8080/x"), false));
        assert!(!literal_allowed(&url("http://[::1]/x"), false));
        assert!(!literal_allowed(&url("http://[::ffff:127.0.0.1]/x"), false));
        assert!(
            !literal_allowed(&url("http://2130706433/x"), false),
            "decimal 127.0.0.1"
        );
        assert!(
            !literal_allowed(&url("http://0x7f.1/x"), false),
            "hex 127.0.0.1"
        );
        assert!(literal_allowed(&url("http://127.0.0.1/x"), true));
        assert!(literal_allowed(&url("https://example.com/x"), false));
        assert_eq!(
            name_of(&url("https://a.example/p/cat%20photo.png?x=1")),
            "cat photo.png"
        );
        assert_eq!(name_of(&url("https://a.example/")), "download");
    }
}
