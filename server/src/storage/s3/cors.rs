//! The bucket's CORS rule for browsers that send files straight to it.

use std::io;

use super::{S3Storage, REQUEST_TTL};

/// At most this many origins in the rule (S3 takes more, but a list this long is a mistake).
const MAX_ORIGINS: usize = 100;

impl S3Storage {
    /// The bucket's origin (`scheme://host[:port]`) as browsers see it: what a page's
    /// `Content-Security-Policy` must allow (`connect-src`) to send files straight to it.
    pub fn bucket_origin(&self) -> String {
        self.inner.bucket.base_url().origin().ascii_serialization()
    }

    /// Lets pages of these origins (`https://app.example.com`, or `*`) send files straight to
    /// the bucket and read downloads from it: sets the bucket's CORS configuration
    /// (`PutBucketCors`, which replaces any rule the bucket had) to one rule allowing `PUT`,
    /// `POST` (signed forms), `GET` and `HEAD` with any request header (a direct upload sends `Content-Type` and
    /// `x-amz-checksum-sha256`), exposing `ETag`. The credentials need the right to change the
    /// bucket's configuration; many deployments set CORS with their own tooling instead.
    pub async fn allow_browser_origins(&self, origins: &[String]) -> io::Result<()> {
        let valid = |o: &String| {
            o == "*"
                || ((o.starts_with("https://") || o.starts_with("http://"))
                    && o.len() <= 256
                    && o[o.find("://").unwrap_or(0) + 3..]
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b)))
        };
        if origins.is_empty() || origins.len() > MAX_ORIGINS || !origins.iter().all(valid) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "origins are `*` or scheme://host[:port], 1 to 100 of them",
            ));
        }
        let mut rule = String::from("<CORSConfiguration><CORSRule>");
        for origin in origins {
            rule.push_str(&format!("<AllowedOrigin>{origin}</AllowedOrigin>"));
        }
        rule.push_str(
            "<AllowedMethod>PUT</AllowedMethod><AllowedMethod>POST</AllowedMethod>\
             <AllowedMethod>GET</AllowedMethod>\
             <AllowedMethod>HEAD</AllowedMethod><AllowedHeader>*</AllowedHeader>\
             <ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3600</MaxAgeSeconds>\
             </CORSRule></CORSConfiguration>",
        );
        let inner = &self.inner;
        let url = rusty_s3::signing::sign(
            &jiff::Timestamp::now(),
            rusty_s3::Method::Put,
            inner.bucket.base_url().clone(),
            inner.credentials.key(),
            inner.credentials.secret(),
            inner.credentials.token(),
            inner.bucket.region(),
            REQUEST_TTL.as_secs(),
            [("cors", "")].into_iter(),
            std::iter::empty(),
        );
        inner
            .send(inner.http.put(url).body(rule), "PutBucketCors")
            .await
            .map(drop)
    }
}
