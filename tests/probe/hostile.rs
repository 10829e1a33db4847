//! Fake servers that misbehave. Each probe must end within its budget (a probe that takes five
//! budgets fails the test as a hang) and name the problem. No timing is asserted beyond that.

use std::sync::Arc;
use std::time::Duration;

use imap_triage::core::diagnose::{Code, Service, TlsMode, Verdict};
use imap_triage::probe::Prober;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

use testkit::probe::{
    codes, fake_server, probe, read_line, request, server_tls, servers, test_policy, tls_with_ca,
    Behaviour,
};

fn behaviour<F, Fut>(f: F) -> Behaviour
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    Arc::new(move |stream| Box::pin(f(stream)))
}

fn prober_for(port: u16) -> Prober {
    Prober::new(test_policy(&[port]), tls_with_ca())
}

async fn probe_fake(
    service: Service,
    port: u16,
    mode: TlsMode,
) -> imap_triage::core::diagnose::EndpointReport {
    probe(
        &prober_for(port),
        &request(service, &format!("127.0.0.1:{port}"), Some(mode)),
    )
    .await
}

#[tokio::test]
async fn a_silent_server_times_out() {
    let port = fake_server(behaviour(|stream| async move {
        // Accept, say nothing, hold the connection for longer than any budget here.
        tokio::time::sleep(Duration::from_secs(20)).await;
        drop(stream);
    }))
    .await;
    let report = probe_fake(Service::Imap, port, TlsMode::Starttls).await;
    assert_eq!(report.verdict, Verdict::Failed);
    assert_eq!(codes(&report), [Code::Timeout]);
    let report = probe_fake(Service::Smtp, port, TlsMode::Implicit).await;
    assert_eq!(codes(&report), [Code::Timeout]);
}

#[tokio::test]
async fn a_slow_drip_banner_times_out() {
    let port = fake_server(behaviour(|mut stream| async move {
        let _ = stream.write_all(b"* OK ").await;
        // One byte every 50 ms, never a line end; at most 400 bytes (20 s).
        for _ in 0..400 {
            if stream.write_all(b"x").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }))
    .await;
    let report = probe_fake(Service::Imap, port, TlsMode::Starttls).await;
    assert_eq!(codes(&report), [Code::Timeout]);
}

#[tokio::test]
async fn a_one_megabyte_banner_hits_the_byte_cap() {
    let port = fake_server(behaviour(|mut stream| async move {
        let mut banner = b"* OK ".to_vec();
        banner.resize(1024 * 1024, b'A');
        banner.extend_from_slice(b"\r\n");
        let _ = stream.write_all(&banner).await;
    }))
    .await;
    let report = probe_fake(Service::Imap, port, TlsMode::Starttls).await;
    assert_eq!(codes(&report)[0], Code::ResponseTooLarge);
    let report = probe_fake(Service::Smtp, port, TlsMode::Starttls).await;
    assert_eq!(codes(&report)[0], Code::ResponseTooLarge);
}

#[tokio::test]
async fn garbage_bytes_are_wrong_protocol() {
    let port = fake_server(behaviour(|mut stream| async move {
        // A fixed pseudo-random sequence: reproducible garbage with line ends in it.
        let mut x: u32 = 0x9e37_79b9;
        let garbage: Vec<u8> = (0..2048)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x >> 24) as u8
            })
            .collect();
        let _ = stream.write_all(&garbage).await;
        tokio::time::sleep(Duration::from_secs(5)).await;
    }))
    .await;
    let report = probe_fake(Service::Imap, port, TlsMode::Starttls).await;
    assert_eq!(codes(&report)[0], Code::WrongProtocol, "{report:#?}");
    let report = probe_fake(Service::Smtp, port, TlsMode::Starttls).await;
    assert_eq!(codes(&report)[0], Code::WrongProtocol, "{report:#?}");
    let report = probe_fake(Service::Imap, port, TlsMode::Implicit).await;
    assert_eq!(codes(&report)[0], Code::WrongProtocol, "{report:#?}");
}

#[tokio::test]
async fn a_tls_alert_is_a_failed_handshake() {
    let port = fake_server(behaviour(|mut stream| async move {
        let mut hello = [0u8; 512];
        let _ = stream.read(&mut hello).await;
        // A fatal handshake_failure alert record.
        let _ = stream
            .write_all(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28])
            .await;
    }))
    .await;
    let report = probe_fake(Service::Imap, port, TlsMode::Implicit).await;
    assert_eq!(codes(&report)[0], Code::TlsHandshakeFailed, "{report:#?}");
    assert!(
        report.findings[0].message.contains("HandshakeFailure"),
        "{}",
        report.findings[0].message
    );
}

/// Regression (issue 11): after a TLS alert the probe tried STARTTLS on the same port and waited
/// 4 s for a plain greeting that a TLS port never sends.
#[tokio::test]
async fn no_starttls_on_the_same_port_after_a_tls_alert() {
    let connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = Arc::clone(&connections);
    let port = fake_server(behaviour(move |mut stream| {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        async move {
            let mut hello = [0u8; 512];
            let _ = stream.read(&mut hello).await;
            let _ = stream
                .write_all(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28])
                .await;
            // Then silence, as a TLS-only port is to a plain client.
            tokio::time::sleep(Duration::from_secs(20)).await;
        }
    }))
    .await;
    // The rules pack is parsed (once) before the clock starts: the bound is the probe's alone.
    testkit::probe::finding_texts();
    let started = std::time::Instant::now();
    let report = probe_fake(Service::Smtp, port, TlsMode::Implicit).await;
    assert_eq!(codes(&report)[0], Code::TlsHandshakeFailed, "{report:#?}");
    assert_eq!(
        connections.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one connection: no plain attempt after the alert"
    );
    // Not a timing aim (scripts/bench-probe measures those): only that no 1.5 s step timeout of
    // the test policy was waited out.
    assert!(
        started.elapsed() < Duration::from_millis(1400),
        "{:?}",
        started.elapsed()
    );
}

/// Regression (found against OpenSMTPD 6.8, whose TLS fails with alert 80): STARTTLS chosen on
/// its implicit-TLS port was reported as a 10 s timeout blaming a firewall, although the TLS
/// attempt beside the silent plain one got the server's alert after 300 ms.
#[tokio::test]
async fn starttls_on_a_port_whose_tls_sends_an_alert_is_plain_on_tls_port() {
    let port = fake_server(behaviour(|mut stream| async move {
        let mut hello = [0u8; 512];
        // A plain client sends nothing: this read waits, and the server stays silent.
        if stream.read(&mut hello).await.unwrap_or(0) > 0 && hello[0] == 0x16 {
            // internal_error (80), as OpenSMTPD on Debian 12 answers every ClientHello.
            let _ = stream
                .write_all(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x50])
                .await;
        }
        tokio::time::sleep(Duration::from_secs(20)).await;
    }))
    .await;
    let report = probe_fake(Service::Smtp, port, TlsMode::Starttls).await;
    assert_eq!(
        codes(&report),
        [Code::PlainOnTlsPort, Code::TlsHandshakeFailed],
        "{report:#?}"
    );
    assert!(
        report.findings[1].message.contains("InternalError"),
        "{report:#?}"
    );
}

/// After a completed TLS handshake the port speaks TLS: a server of the wrong protocol there is
/// not tried again in plain text (which waited out the step timeout: found against Cyrus and
/// Postfix with the services swapped).
#[tokio::test]
async fn no_plain_attempt_on_a_port_that_completed_the_tls_handshake() {
    let connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = Arc::clone(&connections);
    let s = servers();
    let acceptor = TlsAcceptor::from(server_tls(&s.leaf_cert, &s.leaf_key));
    let port = fake_server(behaviour(move |stream| {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let acceptor = acceptor.clone();
        async move {
            // A plain client gets nothing (the handshake waits for its ClientHello).
            if let Ok(mut tls) = acceptor.accept(stream).await {
                let _ = tls.write_all(b"* OK IMAP4rev1 ready\r\n").await;
                let _ = tls.flush().await;
                tokio::time::sleep(Duration::from_secs(20)).await;
            }
        }
    }))
    .await;
    let report = probe_fake(Service::Smtp, port, TlsMode::Implicit).await;
    assert_eq!(codes(&report)[0], Code::WrongProtocol, "{report:#?}");
    assert_eq!(
        connections.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one connection: no plain attempt on a port that completed a TLS handshake"
    );
}

/// A plain server that greets late must not be taken for a TLS port by the TLS attempt that
/// starts beside a silent plain one.
#[tokio::test]
async fn a_slow_plain_greeting_is_not_taken_for_tls() {
    let port = fake_server(behaviour(|mut stream| async move {
        tokio::time::sleep(Duration::from_millis(600)).await;
        let _ = stream.write_all(b"* OK slow IMAP ready\r\n").await;
        while let Some(line) = testkit::probe::read_line(&mut stream).await {
            let tag = line.split(' ').next().unwrap_or_default().to_string();
            let reply = if line.to_ascii_uppercase().contains("CAPABILITY") {
                format!("* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n{tag} OK done\r\n")
            } else {
                format!("* BYE\r\n{tag} OK bye\r\n")
            };
            if stream.write_all(reply.as_bytes()).await.is_err() {
                break;
            }
        }
    }))
    .await;
    let report = probe_fake(Service::Imap, port, TlsMode::Starttls).await;
    assert_eq!(codes(&report)[0], Code::NoTls, "{report:#?}");
    assert!(report.banner.contains("slow IMAP ready"), "{report:#?}");
}

#[tokio::test]
async fn a_server_that_hangs_up_at_once_is_connection_closed() {
    let port = fake_server(behaviour(|stream| async move { drop(stream) })).await;
    let report = probe_fake(Service::Imap, port, TlsMode::Starttls).await;
    assert_eq!(codes(&report)[0], Code::ConnectionClosed, "{report:#?}");
}

#[tokio::test]
async fn a_refusing_greeting_is_greeting_rejected() {
    let imap = fake_server(behaviour(|mut stream| async move {
        let _ = stream
            .write_all(b"* BYE Too many connections from your IP\r\n")
            .await;
    }))
    .await;
    let report = probe_fake(Service::Imap, imap, TlsMode::Starttls).await;
    assert_eq!(codes(&report)[0], Code::GreetingRejected);
    assert!(report.findings[0].message.contains("Too many connections"));

    let smtp = fake_server(behaviour(|mut stream| async move {
        let _ = stream.write_all(b"554 5.7.1 Your IP is blocked\r\n").await;
        let _ = read_line(&mut stream).await;
    }))
    .await;
    let report = probe_fake(Service::Smtp, smtp, TlsMode::Starttls).await;
    assert_eq!(codes(&report)[0], Code::GreetingRejected, "{report:#?}");
}

/// A plain IMAP server that answers CAPABILITY without STARTTLS.
#[tokio::test]
async fn a_server_without_starttls_is_no_tls() {
    let port = fake_server(behaviour(|mut stream| async move {
        let _ = stream.write_all(b"* OK plain only\r\n").await;
        for _ in 0..4 {
            let Some(line) = read_line(&mut stream).await else {
                break;
            };
            let tag = line.split_whitespace().next().unwrap_or("*").to_string();
            let reply = if line.to_ascii_uppercase().contains("CAPABILITY") {
                format!("* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n{tag} OK done\r\n")
            } else {
                format!("* BYE\r\n{tag} OK bye\r\n")
            };
            let _ = stream.write_all(reply.as_bytes()).await;
        }
    }))
    .await;
    let report = probe_fake(Service::Imap, port, TlsMode::Starttls).await;
    assert_eq!(report.verdict, Verdict::Failed);
    assert_eq!(codes(&report)[0], Code::NoTls, "{report:#?}");
    assert_eq!(report.capabilities, ["IMAP4rev1", "AUTH=PLAIN"]);
}

/// A TLS server with the given certificate that greets with `greeting` and answers
/// CAPABILITY, like a small IMAP server.
async fn fake_imaps(
    cert: std::path::PathBuf,
    key: std::path::PathBuf,
    greeting: &'static str,
) -> u16 {
    let acceptor = TlsAcceptor::from(server_tls(&cert, &key));
    fake_server(behaviour(move |stream| {
        let acceptor = acceptor.clone();
        async move {
            let Ok(mut tls) = acceptor.accept(stream).await else {
                return;
            };
            let _ = tls.write_all(greeting.as_bytes()).await;
            for _ in 0..4 {
                let Some(line) = read_line(&mut tls).await else {
                    break;
                };
                let tag = line.split_whitespace().next().unwrap_or("*").to_string();
                let reply = format!("* CAPABILITY IMAP4rev1\r\n{tag} OK done\r\n");
                let _ = tls.write_all(reply.as_bytes()).await;
            }
        }
    }))
    .await
}

#[tokio::test]
async fn an_expired_certificate_is_cert_expired() {
    let s = servers();
    let port = fake_imaps(
        s.expired_cert.clone(),
        s.expired_key.clone(),
        "* OK ready\r\n",
    )
    .await;
    let report = probe_fake(Service::Imap, port, TlsMode::Implicit).await;
    assert_eq!(report.verdict, Verdict::Failed);
    assert_eq!(codes(&report), [Code::CertExpired]);
    let cert = &report
        .tls
        .as_ref()
        .unwrap_or_else(|| panic!("no TLS data"))
        .cert;
    assert_eq!(cert.not_after, "2021-01-01T00:00:00Z");
    assert!(!cert.trusted);
}

#[tokio::test]
async fn a_courier_banner_is_unsupported() {
    let s = servers();
    let port = fake_imaps(
        s.leaf_cert.clone(),
        s.leaf_key.clone(),
        "* OK [CAPABILITY IMAP4rev1 UIDPLUS] Courier-IMAP ready. Copyright 1998-2018 Double Precision, Inc.\r\n",
    )
    .await;
    let report = probe_fake(Service::Imap, port, TlsMode::Implicit).await;
    assert_eq!(report.verdict, Verdict::Failed);
    assert_eq!(codes(&report), [Code::CourierImapUnsupported]);
}

/// lettre 0.11 parses EHLO replies with an `unwrap` on the first word of each line, so a line of
/// blanks panics inside lettre; the session's own task contains it and the probe reports it.
#[tokio::test]
async fn a_blank_ehlo_line_does_not_crash_the_probe() {
    let port = fake_server(behaviour(|mut stream| async move {
        let _ = stream.write_all(b"220 hostile ESMTP\r\n").await;
        let _ = read_line(&mut stream).await;
        let _ = stream
            .write_all(b"250-hostile\r\n250-   \r\n250 STARTTLS\r\n")
            .await;
        let _ = read_line(&mut stream).await;
    }))
    .await;
    let report = probe_fake(Service::Smtp, port, TlsMode::Starttls).await;
    assert_eq!(report.verdict, Verdict::Failed);
    assert!(
        // ConnectionClosed is what a lettre without that unwrap would lead to.
        matches!(codes(&report)[0], Code::ProbeError | Code::ConnectionClosed),
        "{report:#?}"
    );
}
