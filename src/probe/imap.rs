//! The IMAP session, with async-imap: greeting, CAPABILITY, STARTTLS when the connection is
//! plain, CAPABILITY again, LOGOUT. No LOGIN or AUTHENTICATE is ever sent.

use std::sync::atomic::{AtomicU32, Ordering};

use async_imap::imap_proto::{Capability, RequestId, Response, Status};
use async_imap::Client;
use tokio::io::AsyncWriteExt;

use crate::core::diagnose::{Failure, StageName, TlsMode};

use super::session::{first_line, Elapsed, Run};
use super::wire::Conn;

/// Tags only need to differ within a connection; a process-wide counter is simplest.
static NEXT_TAG: AtomicU32 = AtomicU32::new(1);

/// How many untagged lines a reply may have before the server is judged to be flooding.
const MAX_RESPONSES: usize = 256;

pub(crate) async fn session(mut run: Run, conn: Conn) -> Run {
    let mut client = Client::new(conn.clone());
    if !greeting(&mut run, &mut client, &conn).await {
        return run;
    }
    let Some(caps) = capabilities(&mut run, &mut client, &conn).await else {
        return run;
    };
    if run.obs.mode == TlsMode::Starttls {
        run.obs.capabilities_plain = caps.clone();
        run.obs.capabilities = caps.clone();
        if !caps.iter().any(|c| c.eq_ignore_ascii_case("STARTTLS")) {
            let clock = run.clock(StageName::Starttls);
            run.fail(clock, Failure::StarttlsNotOffered);
            logout(&run, &mut client).await;
            return run;
        }
        if !starttls(&mut run, &mut client, &conn).await || !run.upgrade(&conn).await {
            return run;
        }
        // A new client: nothing read before the handshake may be trusted after it.
        client = Client::new(conn.clone());
        let Some(caps) = capabilities(&mut run, &mut client, &conn).await else {
            return run;
        };
        run.obs.capabilities = caps;
    } else {
        run.obs.capabilities = caps;
    }
    logout(&run, &mut client).await;
    run
}

async fn greeting(run: &mut Run, client: &mut Client<Conn>, conn: &Conn) -> bool {
    let clock = run.clock(StageName::Greeting);
    let reply = run.bounded(client.read_response()).await;
    // Whatever answered, its first line is the banner: on a mix-up it shows what is there.
    run.obs.banner = first_line(&conn.meter().text());
    let failure = match reply {
        Err(Elapsed) => Failure::Timeout {
            stage: StageName::Greeting,
        },
        Ok(Err(e)) => run.io_failure(StageName::Greeting, conn, &e, is_eof(&e)),
        Ok(Ok(None)) => run.io_failure(
            StageName::Greeting,
            conn,
            &"the server closed the connection",
            true,
        ),
        Ok(Ok(Some(response))) => {
            let banner = run.obs.banner.clone();
            match response.parsed() {
                Response::Data {
                    status: Status::Ok | Status::PreAuth,
                    ..
                } => {
                    run.finish(clock, true, banner);
                    return true;
                }
                Response::Data {
                    status: Status::Bye,
                    ..
                } => Failure::GreetingRejected { text: banner },
                _ => run.io_failure(StageName::Greeting, conn, &"not an IMAP greeting", false),
            }
        }
    };
    run.fail(clock, failure);
    false
}

async fn capabilities(
    run: &mut Run,
    client: &mut Client<Conn>,
    conn: &Conn,
) -> Option<Vec<String>> {
    let clock = run.clock(StageName::Capabilities);
    let result = run.bounded(command(client, "CAPABILITY")).await;
    match result {
        Ok(Ok(reply)) if reply.ok => {
            let detail = if reply.capabilities.is_empty() {
                "none listed".to_string()
            } else {
                reply.capabilities.join(" ")
            };
            run.finish(clock, true, detail);
            Some(reply.capabilities)
        }
        Ok(Ok(reply)) => {
            run.fail(
                clock,
                Failure::Protocol {
                    stage: StageName::Capabilities,
                    detail: format!("CAPABILITY was refused: {}", reply.text),
                },
            );
            None
        }
        Ok(Err(e)) => {
            let failure = run.io_failure(StageName::Capabilities, conn, &e, e.closed);
            run.fail(clock, failure);
            None
        }
        Err(Elapsed) => {
            run.fail(
                clock,
                Failure::Timeout {
                    stage: StageName::Capabilities,
                },
            );
            None
        }
    }
}

async fn starttls(run: &mut Run, client: &mut Client<Conn>, conn: &Conn) -> bool {
    let clock = run.clock(StageName::Starttls);
    match run.bounded(command(client, "STARTTLS")).await {
        Ok(Ok(reply)) if reply.ok => {
            run.finish(clock, true, reply.text);
            true
        }
        Ok(Ok(reply)) => {
            run.fail(clock, Failure::StarttlsRejected { text: reply.text });
            false
        }
        Ok(Err(e)) => {
            let failure = run.io_failure(StageName::Starttls, conn, &e, e.closed);
            run.fail(clock, failure);
            false
        }
        Err(Elapsed) => {
            run.fail(
                clock,
                Failure::Timeout {
                    stage: StageName::Starttls,
                },
            );
            false
        }
    }
}

/// Polite, bounded, and its outcome does not matter.
async fn logout(run: &Run, client: &mut Client<Conn>) {
    let _ = run.courtesy(command(client, "LOGOUT")).await;
}

struct Reply {
    ok: bool,
    text: String,
    capabilities: Vec<String>,
}

#[derive(Debug)]
struct CommandError {
    detail: String,
    closed: bool,
}

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

/// Sends a command and reads until its tagged reply, collecting CAPABILITY data on the way.
///
/// async-imap 0.12 sends commands only after login (on `Session`), so the command line is
/// written to the stream under the client; the replies are read and parsed by async-imap.
async fn command(client: &mut Client<Conn>, command: &str) -> Result<Reply, CommandError> {
    let tag = RequestId(format!("p{}", NEXT_TAG.fetch_add(1, Ordering::Relaxed)));
    let line = format!("{} {command}\r\n", tag.0);
    let stream = client.get_mut();
    let written = async {
        stream.write_all(line.as_bytes()).await?;
        stream.flush().await
    };
    written.await.map_err(|e| CommandError {
        closed: is_eof(&e) || e.kind() == std::io::ErrorKind::BrokenPipe,
        detail: e.to_string(),
    })?;
    let mut capabilities = Vec::new();
    for _ in 0..MAX_RESPONSES {
        let response = match client.read_response().await {
            Ok(Some(response)) => response,
            Ok(None) => {
                return Err(CommandError {
                    detail: "the server closed the connection".into(),
                    closed: true,
                })
            }
            Err(e) => {
                return Err(CommandError {
                    closed: is_eof(&e),
                    detail: e.to_string(),
                })
            }
        };
        match response.parsed() {
            Response::Capabilities(list) => capabilities.extend(list.iter().map(capability_text)),
            Response::Done {
                tag: done,
                status,
                outcome,
            } if *done == tag => {
                return Ok(Reply {
                    ok: *status == Status::Ok,
                    text: outcome
                        .information
                        .as_deref()
                        .unwrap_or_default()
                        .to_string(),
                    capabilities,
                });
            }
            Response::Data {
                status: Status::Bye,
                outcome,
            } => {
                return Err(CommandError {
                    detail: format!(
                        "the server said BYE: {}",
                        outcome.information.as_deref().unwrap_or_default()
                    ),
                    closed: true,
                });
            }
            _ => {}
        }
    }
    Err(CommandError {
        detail: format!("more than {MAX_RESPONSES} lines in reply to {command}"),
        closed: false,
    })
}

fn capability_text(capability: &Capability<'_>) -> String {
    match capability {
        Capability::Imap4rev1 => "IMAP4rev1".to_string(),
        Capability::Auth(mechanism) => format!("AUTH={mechanism}"),
        Capability::Atom(atom) => atom.to_string(),
    }
}

fn is_eof(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::UnexpectedEof
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionAborted
    )
}
