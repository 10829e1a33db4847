//! One connection to a target, and the standard alternatives when the posted endpoint fails.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::{timeout_at, Instant};

use crate::core::diagnose::{
    self, AlternativeResult, Failure, ModeSource, Observation, Service, Stage, StageName, TlsMode,
};

use super::{Prober, Target};
use crate::probe::session::{server_name, Progress, Run};
use crate::probe::wire::{Conn, Counted, Meter};
use crate::probe::{imap, smtp};

impl Prober {
    /// The posted endpoint. A plain attempt that hears nothing for `policy.silence` gets a TLS
    /// attempt on the same port beside it: a TLS server is silent until it gets a ClientHello,
    /// so waiting out the greeting timeout would only delay the answer. When TLS answers, the
    /// plain attempt is stopped and recorded as silent; the TLS attempt is returned as an
    /// alternative already tried.
    pub(super) async fn attempt_or_sniff(
        &self,
        target: &Target,
        mode: TlsMode,
        deadline: Instant,
        progress: &Progress,
    ) -> (Observation, Option<AlternativeResult>) {
        let meter = self.meter();
        let started = std::time::Instant::now();
        let primary = self.attempt(target, mode, deadline, progress, true, Arc::clone(&meter));
        if mode != TlsMode::Starttls {
            return (primary.await, None);
        }
        let silence = self.policy.silence;
        let sniff = async {
            tokio::time::sleep(silence).await;
            if meter.bytes_read() > 0 {
                return std::future::pending().await;
            }
            let meter = self.meter();
            self.attempt(target, TlsMode::Implicit, deadline, progress, false, meter)
                .await
        };
        tokio::pin!(primary);
        tokio::pin!(sniff);
        tokio::select! {
            obs = &mut primary => (obs, None),
            tls = &mut sniff => {
                let alt = alternative_result(target.port, TlsMode::Implicit, &tls);
                let speaks_tls = tls.tls.is_some()
                    || tls.failure.as_ref().is_some_and(diagnose::tls_alert);
                if !speaks_tls {
                    // Not a TLS port (a slow plain greeter answers the ClientHello in plain
                    // text; a dead one not at all): the plain attempt decides.
                    return (primary.await, Some(alt));
                }
                // The port speaks TLS, so the plain attempt will hear nothing.
                let mut obs = target.observation(mode);
                let waited = started.elapsed().as_secs_f64() * 1000.0;
                obs.stages.push(Stage {
                    name: StageName::Greeting,
                    ok: false,
                    ms: (waited * 1000.0).round() / 1000.0,
                    detail: "no plain greeting; the port answers a TLS ClientHello".into(),
                });
                obs.failure = Some(Failure::Timeout {
                    stage: StageName::Greeting,
                });
                (obs, Some(alt))
            }
        }
    }

    /// Tries the standard alternatives in parallel, staggered, until the deadline.
    pub(super) async fn alternatives(
        &self,
        target: &Target,
        primary: &Observation,
        sniffed: Option<AlternativeResult>,
        deadline: Instant,
        progress: &Progress,
    ) -> Vec<AlternativeResult> {
        let Some(failure) = &primary.failure else {
            return Vec::new();
        };
        let mut candidates = self.policy.ports.alternatives(
            target.service,
            target.port,
            primary.mode,
            diagnose::port_was_open(failure),
        );
        let spoke_tls = primary.mode == TlsMode::Implicit && primary.tls.is_some();
        if primary.mode_source == ModeSource::Auto || diagnose::tls_alert(failure) || spoke_tls {
            // Both modes of the posted port were tried already; or the port answered a
            // ClientHello with a TLS alert, or completed the handshake (then spoke the wrong
            // protocol, say), so it speaks TLS and a plain attempt would only wait for a
            // greeting that never comes.
            candidates.retain(|(port, _)| *port != target.port);
        }
        if let Some(s) = &sniffed {
            candidates.retain(|c| *c != (s.port, s.mode));
        }
        candidates.retain(|(port, _)| self.policy.allowed_ports.contains(port));
        candidates.truncate(3);
        let mut done: Vec<AlternativeResult> = sniffed.into_iter().collect();
        if done.iter().any(|a| a.answered && a.cert_ok) {
            return done;
        }
        let stagger = self.policy.stagger;
        let attempts = candidates
            .into_iter()
            .enumerate()
            .map(|(i, (port, mode))| async move {
                tokio::time::sleep(stagger * i as u32).await;
                let alt = Target {
                    port,
                    addrs: target
                        .addrs
                        .iter()
                        .map(|a| SocketAddr::new(a.ip(), port))
                        .collect(),
                    service: target.service,
                    host: target.host.clone(),
                };
                let obs = self
                    .attempt(&alt, mode, deadline, progress, false, self.meter())
                    .await;
                alternative_result(port, mode, &obs)
            });
        // The first alternative that fully works ends the search: the others are stopped
        // rather than waited for (a silent one would hold the report until its timeout).
        done.extend(join_until(attempts, |a: &AlternativeResult| a.answered && a.cert_ok).await);
        done
    }

    /// A byte meter for one attempt, at the policy's read limit.
    pub(super) fn meter(&self) -> Arc<Meter> {
        Meter::new(self.policy.max_read_bytes)
    }

    /// One connection: TCP, TLS (implicit) and the protocol session, recorded as an
    /// observation without the DNS stage. The caller holds the `meter` too, to tell whether
    /// the server has sent anything yet.
    pub(super) async fn attempt(
        &self,
        target: &Target,
        mode: TlsMode,
        deadline: Instant,
        progress: &Progress,
        primary: bool,
        meter: Arc<Meter>,
    ) -> Observation {
        let mut run = Run {
            obs: target.observation(mode),
            deadline,
            step: self.policy.step_timeout,
            tls: Arc::clone(&self.tls),
            server_name: server_name(&target.host),
            progress: progress.clone(),
            primary,
        };
        let Some((tcp, peer)) = run.connect(&target.addrs).await else {
            return run.obs;
        };
        let counted = Counted::new(tcp, Arc::clone(&meter));
        let conn = match mode {
            TlsMode::Implicit => match run.handshake(counted, &meter).await {
                Some(tls) => Conn::tls(tls, meter, peer),
                None => return run.obs,
            },
            TlsMode::Starttls => Conn::plain(counted, meter, peer),
        };
        // The protocol libraries run in their own task: if one panics on hostile input, the
        // probe reports it instead of taking the bot down.
        // What the observation held before the session, for when the session never returns it.
        let mut so_far = target.observation(mode);
        so_far.stages = run.obs.stages.clone();
        so_far.tls = run.obs.tls.clone();
        let service = target.service;
        let session = tokio::spawn(async move {
            match service {
                Service::Imap => imap::session(run, conn).await,
                Service::Smtp => smtp::session(run, conn).await,
            }
        });
        let abort = session.abort_handle();
        // Stopped with this future (an attempt that lost a race), not left to its timeout.
        let _stop = AbortOnDrop(abort.clone());
        // The session keeps to the deadline itself; this is the backstop.
        let failure = match timeout_at(deadline + Duration::from_millis(250), session).await {
            Ok(Ok(run)) => return run.obs,
            Ok(Err(join_error)) => {
                let detail = if join_error.is_panic() {
                    "a protocol library panicked on the server's reply"
                } else {
                    "the session was cancelled"
                };
                Failure::Internal {
                    detail: detail.into(),
                }
            }
            Err(_) => {
                abort.abort();
                Failure::Timeout {
                    stage: StageName::Greeting,
                }
            }
        };
        so_far.failure = Some(failure);
        so_far
    }
}

struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn alternative_result(port: u16, mode: TlsMode, obs: &Observation) -> AlternativeResult {
    let cert_ok = obs
        .tls
        .as_ref()
        .is_some_and(|t| t.cert.trusted && t.cert.name_matches);
    let tls_alert = match &obs.failure {
        Some(failure @ Failure::TlsFailed { detail, .. }) if diagnose::tls_alert(failure) => {
            Some(detail.clone())
        }
        _ => None,
    };
    AlternativeResult {
        port,
        mode,
        answered: obs.answered(),
        cert_ok,
        banner: obs.banner.clone(),
        tls_alert,
    }
}

/// Polls the futures together until all are done, or one output satisfies `enough`; the
/// outputs so far, in completion order. Unfinished futures are dropped.
async fn join_until<F: Future>(
    futures: impl IntoIterator<Item = F>,
    enough: impl Fn(&F::Output) -> bool,
) -> Vec<F::Output> {
    let mut pinned: Vec<Option<Pin<Box<F>>>> =
        futures.into_iter().map(|f| Some(Box::pin(f))).collect();
    let mut outputs = Vec::new();
    std::future::poll_fn(|cx| {
        for slot in pinned.iter_mut() {
            if let Some(future) = slot {
                if let std::task::Poll::Ready(value) = future.as_mut().poll(cx) {
                    *slot = None;
                    let stop = enough(&value);
                    outputs.push(value);
                    if stop {
                        return std::task::Poll::Ready(());
                    }
                }
            }
        }
        if pinned.iter().all(Option::is_none) {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    outputs
}
