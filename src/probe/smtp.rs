//! The SMTP session, with lettre: banner and EHLO, STARTTLS when the connection is plain, EHLO
//! again, QUIT. No AUTH, MAIL, RCPT or DATA is ever sent.
//!
//! lettre reads the banner and sends EHLO in one call and keeps neither reply, so the banner
//! and the extension list are read back from the bytes the connection kept (see
//! [`super::wire`]), with lettre's own reply parser.

use std::str::FromStr;

use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::commands::{Ehlo, Starttls};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::response::Response;

use crate::core::diagnose::{Failure, StageName, TlsMode};

use super::session::{Elapsed, Run};
use super::wire::Conn;

/// The EHLO name: a syntactically valid FQDN that cannot belong to anyone (RFC 2606).
const HELLO_NAME: &str = "imap-triage-probe.invalid";

pub(crate) async fn session(mut run: Run, conn: Conn) -> Run {
    let hello = ClientId::Domain(HELLO_NAME.to_string());
    let greeting = run.clock(StageName::Greeting);
    let connected = run
        .bounded(AsyncSmtpConnection::connect_with_transport(
            Box::new(conn.clone()),
            &hello,
        ))
        .await;
    let replies = split_replies(&conn.meter().text());
    let banner = replies.first().map(|r| r.join("\n")).unwrap_or_default();
    run.obs.banner = banner.clone();
    let banner_ok = replies.first().is_some_and(|r| reply_code(r) == Some(220));
    let greeted_at = conn
        .meter()
        .first_line_at()
        .unwrap_or_else(std::time::Instant::now);
    let mut smtp = match connected {
        Ok(Ok(smtp)) => {
            greeting.finish_at(&mut run.obs, &run.progress, true, banner, greeted_at);
            let clock = run.clock_from(StageName::Capabilities, greeted_at);
            let caps = replies.get(1).map(|r| extensions(r)).unwrap_or_default();
            run.finish(clock, true, caps.join(", "));
            run.obs.capabilities = caps;
            smtp
        }
        Err(Elapsed) => {
            let stage = if banner_ok {
                StageName::Capabilities
            } else {
                StageName::Greeting
            };
            if banner_ok {
                greeting.finish_at(&mut run.obs, &run.progress, true, banner, greeted_at);
                let clock = run.clock_from(StageName::Capabilities, greeted_at);
                run.fail(clock, Failure::Timeout { stage });
            } else {
                run.fail(greeting, Failure::Timeout { stage });
            }
            return run;
        }
        Ok(Err(e)) => {
            if banner_ok {
                greeting.finish_at(&mut run.obs, &run.progress, true, banner, greeted_at);
                let clock = run.clock_from(StageName::Capabilities, greeted_at);
                let failure = run.io_failure(StageName::Capabilities, &conn, &e, false);
                run.fail(clock, failure);
            } else if replies
                .first()
                .and_then(|r| reply_code(r))
                .is_some_and(|code| code >= 400)
            {
                run.fail(greeting, Failure::GreetingRejected { text: banner });
            } else {
                let closed =
                    e.to_string().contains("incomplete response") || conn.meter().text().is_empty();
                let failure = run.io_failure(StageName::Greeting, &conn, &e, closed);
                run.fail(greeting, failure);
            }
            return run;
        }
    };

    if run.obs.mode == TlsMode::Starttls {
        run.obs.capabilities_plain = run.obs.capabilities.clone();
        let clock = run.clock(StageName::Starttls);
        if !smtp.can_starttls() {
            run.fail(clock, Failure::StarttlsNotOffered);
            quit(&run, &mut smtp).await;
            return run;
        }
        match run.bounded(smtp.command(Starttls)).await {
            Ok(Ok(reply)) => {
                let text = reply.message().collect::<Vec<_>>().join(" ");
                run.finish(clock, true, format!("{} {text}", reply.code()));
            }
            Ok(Err(e)) => {
                run.fail(
                    clock,
                    Failure::StarttlsRejected {
                        text: e.to_string(),
                    },
                );
                return run;
            }
            Err(Elapsed) => {
                run.fail(
                    clock,
                    Failure::Timeout {
                        stage: StageName::Starttls,
                    },
                );
                return run;
            }
        }
        if !run.upgrade(&conn).await {
            return run;
        }
        let clock = run.clock(StageName::Capabilities);
        match run.bounded(smtp.command(Ehlo::new(hello))).await {
            Ok(Ok(reply)) => {
                let caps = extensions(&response_lines(&reply));
                run.finish(clock, true, caps.join(", "));
                run.obs.capabilities = caps;
            }
            Ok(Err(e)) => {
                let failure = run.io_failure(StageName::Capabilities, &conn, &e, false);
                run.fail(clock, failure);
                return run;
            }
            Err(Elapsed) => {
                run.fail(
                    clock,
                    Failure::Timeout {
                        stage: StageName::Capabilities,
                    },
                );
                return run;
            }
        }
    }
    quit(&run, &mut smtp).await;
    run
}

async fn quit(run: &Run, smtp: &mut AsyncSmtpConnection) {
    let _ = run.courtesy(smtp.quit()).await;
}

/// The lines of a reply as the server wrote them (`250-SIZE 10485760`).
fn response_lines(reply: &Response) -> Vec<String> {
    let code = reply.code().to_string();
    let lines: Vec<&str> = reply.message().collect();
    let last = lines.len().saturating_sub(1);
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| format!("{code}{}{line}", if i == last { ' ' } else { '-' }))
        .collect()
}

/// Groups the kept bytes into SMTP replies (a reply ends at a line whose fourth character is a
/// space), each checked with lettre's parser. Stops at the first thing that is not a reply.
pub(crate) fn split_replies(text: &[u8]) -> Vec<Vec<String>> {
    let text = String::from_utf8_lossy(text);
    let mut replies = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut raw = String::new();
    for line in text.split_inclusive('\n') {
        if !line.ends_with('\n') {
            break;
        }
        raw.push_str(line);
        // What a server sends ends up in reports and terminals: control characters (escape
        // sequences included) become '?', as in the IMAP greeting.
        let clean: String = line
            .trim_end_matches(['\r', '\n'])
            .chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect();
        let is_last = clean.as_bytes().get(3) == Some(&b' ') || clean.len() == 3;
        current.push(clean);
        if is_last {
            if Response::from_str(&raw).is_err() {
                break;
            }
            replies.push(std::mem::take(&mut current));
            raw.clear();
        }
    }
    replies
}

fn reply_code(reply: &[String]) -> Option<u16> {
    reply.first()?.get(..3)?.parse().ok()
}

/// EHLO extensions without the code and without the first line (the server's name).
fn extensions(reply: &[String]) -> Vec<String> {
    reply
        .iter()
        .skip(1)
        .map(|line| line.get(4..).unwrap_or_default().trim().to_string())
        .filter(|line| !line.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_split_and_checked() {
        let text = b"220 mx ESMTP\r\n250-mx Hello\r\n250-SIZE 10485760\r\n250 AUTH PLAIN LOGIN\r\n";
        let replies = split_replies(text);
        assert_eq!(replies.len(), 2);
        assert_eq!(replies[0], ["220 mx ESMTP"]);
        assert_eq!(
            extensions(&replies[1]),
            ["SIZE 10485760", "AUTH PLAIN LOGIN"]
        );
        assert_eq!(reply_code(&replies[0]), Some(220));
    }

    #[test]
    fn non_smtp_text_gives_no_reply() {
        assert!(split_replies(b"* OK IMAP ready\r\n").is_empty());
        assert!(split_replies(b"220 no end of line").is_empty());
        assert!(split_replies(&[0xff, 0xfe, b'\n']).is_empty());
    }
}
