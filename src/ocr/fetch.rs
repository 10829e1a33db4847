//! Purpose: download an attachment only from where Discord keeps them, and only as much as a
//! screenshot needs.
//!
//! The host must be on the allowlist (Discord's CDN hosts; tests add their own), the scheme
//! https (plain http only when the settings allow it, for tests on loopback), no redirects, at
//! most [`guard::MAX_BYTES`], and the whole download within a hard time limit.

use std::time::Duration;

use super::guard;

/// Where attachments may come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchPolicy {
    /// Host names accepted, exactly (lower case).
    pub hosts: Vec<String>,
    /// Accept `http://` too. Tests only.
    pub allow_http: bool,
    pub timeout: Duration,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        FetchPolicy {
            hosts: vec!["cdn.discordapp.com".into(), "media.discordapp.net".into()],
            allow_http: false,
            timeout: Duration::from_secs(15),
        }
    }
}

/// Why a download was refused or failed, in words a member can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("the attachment's address is not Discord's")]
    NotAllowed,
    #[error("the attachment is larger than 10 MB")]
    TooLarge,
    #[error("the attachment took too long to download")]
    TimedOut,
    #[error("the attachment could not be downloaded ({0})")]
    Failed(String),
}

impl FetchPolicy {
    /// Checks an address against the policy, before any connection.
    pub fn check(&self, url: &str) -> Result<reqwest::Url, FetchError> {
        let parsed = reqwest::Url::parse(url).map_err(|_| FetchError::NotAllowed)?;
        let scheme_ok =
            parsed.scheme() == "https" || (self.allow_http && parsed.scheme() == "http");
        let host_ok = parsed
            .host_str()
            .is_some_and(|h| self.hosts.iter().any(|a| a.eq_ignore_ascii_case(h)));
        if !scheme_ok || !host_ok || !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(FetchError::NotAllowed);
        }
        Ok(parsed)
    }

    /// Downloads `url` under the policy.
    pub async fn fetch(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        let url = self.check(url)?;
        match tokio::time::timeout(self.timeout, self.download(url)).await {
            Ok(result) => result,
            Err(_) => Err(FetchError::TimedOut),
        }
    }

    async fn download(&self, url: reqwest::Url) -> Result<Vec<u8>, FetchError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(self.timeout)
            .build()
            .map_err(|e| FetchError::Failed(e.to_string()))?;
        let mut response = client
            .get(url)
            .send()
            .await
            .map_err(|e| FetchError::Failed(short(&e)))?;
        if !response.status().is_success() {
            return Err(FetchError::Failed(format!(
                "HTTP {}",
                response.status().as_u16()
            )));
        }
        if response
            .content_length()
            .is_some_and(|n| n > guard::MAX_BYTES as u64)
        {
            return Err(FetchError::TooLarge);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| FetchError::Failed(short(&e)))?
        {
            if body.len() + chunk.len() > guard::MAX_BYTES {
                return Err(FetchError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

fn short(e: &dyn std::fmt::Display) -> String {
    crate::core::text::truncate(&e.to_string(), 120)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_allowlisted_https_addresses_pass() {
        let policy = FetchPolicy::default();
        assert!(policy
            .check("https://cdn.discordapp.com/attachments/1/2/shot.png?ex=1")
            .is_ok());
        for bad in [
            "http://cdn.discordapp.com/a.png",
            "https://evil.example/a.png",
            "https://cdn.discordapp.com.evil.example/a.png",
            "https://user:pw@cdn.discordapp.com/a.png",
            "file:///etc/passwd",
            "not a url",
        ] {
            assert_eq!(policy.check(bad), Err(FetchError::NotAllowed), "{bad}");
        }
        let tests = FetchPolicy {
            hosts: vec!["127.0.0.1".into()],
            allow_http: true,
            ..FetchPolicy::default()
        };
        assert!(tests.check("http://127.0.0.1:9/a.png").is_ok());
    }
}
