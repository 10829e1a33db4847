//! Purpose: run Tesseract in worker processes (`imap-triage-ocr`), a bounded number at a time.
//!
//! A Tesseract call can't be cancelled inside a thread, and a crash in its C++ would take the
//! bot down: each engine lives in a child process instead, which the bot can kill. Workers
//! start with the first image, not with the bot (so an idle bot maps none of Tesseract's
//! libraries), at most `workers` of them; each is reused for many images. One that goes over
//! the time budget, crashes or writes anything but the protocol is killed, and the next image
//! starts a new one. One left idle for `idle_after` is stopped, so the bot returns to its small
//! idle size. Images waiting beyond the ones being read are bounded: more are refused at once.
//!
//! A worker that can't start (the binary won't run, libtesseract is missing) or says that
//! Tesseract can't run here switches OCR off: images are counted, as before OCR existed. The
//! first image after `retry_after` tries a worker again, so a passing cause (a failed fork, a
//! package being upgraded) doesn't need a restart; one that lasts costs one failed start per
//! `retry_after`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::time::timeout_at;

use crate::core::screenshot::OcrPage;

use super::protocol::{self, Hello, Reply};

/// Why OCR can't run at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("OCR is off: {0}")]
pub struct OcrOff(pub String);

/// The worker binary's file name, next to the bot's own.
pub const WORKER_NAME: &str = "imap-triage-ocr";

/// The longest a worker may take to start its engine and say so.
const START_LIMIT: Duration = Duration::from_secs(30);
/// The longest `health` waits for a worker's engine: within Docker's 10 s health timeout.
const CHECK_LIMIT: Duration = Duration::from_secs(5);
/// The longest a stopped worker gets to exit before it is killed.
const EXIT_LIMIT: Duration = Duration::from_secs(5);

/// What became of one image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Page(OcrPage, u64),
    /// Why the image was not read, and the time spent.
    Unreadable(String, u64),
    /// OCR is off (now or from the start): the image is counted, not read.
    Off,
}

/// The worker processes: started on demand, reused, replaced, stopped when idle.
pub struct Pool {
    inner: Arc<Inner>,
}

struct Inner {
    program: PathBuf,
    workers: usize,
    /// Images admitted (being read or waiting): at most `workers + queue`.
    admitted: AtomicUsize,
    limit: usize,
    slots: tokio::sync::Semaphore,
    idle_after: Duration,
    idle: Mutex<Vec<Idle>>,
    /// The pids of the live workers, idle or busy.
    pids: Mutex<HashSet<u32>>,
    /// Why OCR is off, and since when.
    off: Mutex<Option<(OcrOff, Instant)>>,
    retry_after: Duration,
    reaper: AtomicBool,
}

struct Idle {
    worker: Worker,
    since: Instant,
}

/// One worker process and its pipes.
struct Worker {
    child: Child,
    /// `None` once closed: the worker's signal to exit.
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    pid: u32,
    pool: Weak<Inner>,
}

/// Why an answer never came.
enum Broken {
    /// The worker exited (or its pipe broke); its exit status when known.
    Stopped(Option<ExitStatus>),
    /// It wrote something that is not an answer.
    Garbage,
    /// The deadline passed.
    Late,
}

impl Drop for Worker {
    fn drop(&mut self) {
        // `kill_on_drop` ends the process; the runtime reaps it.
        if let Some(inner) = self.pool.upgrade() {
            lock(&inner.pids).remove(&self.pid);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The worker binary: `configured`, or the one next to this executable.
pub fn worker_program(configured: Option<&Path>) -> PathBuf {
    match configured {
        Some(path) => path.to_path_buf(),
        None => std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|dir| dir.join(WORKER_NAME)))
            .unwrap_or_else(|| PathBuf::from(WORKER_NAME)),
    }
}

/// Whether the worker binary is there: the cheap check at start (no engine is built).
pub fn check_program(program: &Path) -> Result<(), OcrOff> {
    match std::fs::metadata(program) {
        Ok(meta) if meta.is_file() => Ok(()),
        Ok(_) => Err(OcrOff(format!(
            "the OCR worker {} is not a file",
            program.display()
        ))),
        Err(e) => Err(OcrOff(format!(
            "the OCR worker {} is missing ({e}); build it with `cargo build --release --bins`",
            program.display()
        ))),
    }
}

/// Starts one worker, waits for its engine, and stops it: whether OCR can run here (the
/// library and the language data). For `health`; blocking.
pub fn check_worker(program: &Path) -> Result<(), OcrOff> {
    check_program(program)?;
    let mut child = std::process::Command::new(program)
        .arg("--check")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .env("OMP_THREAD_LIMIT", omp_thread_limit())
        .spawn()
        .map_err(|e| OcrOff(format!("the OCR worker could not start: {e}")))?;
    let stdout = child.stdout.take();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead as _;
        let mut line = String::new();
        if let Some(stdout) = stdout {
            let mut reader = std::io::BufReader::new(std::io::Read::take(stdout, 64 * 1024));
            let _ = reader.read_line(&mut line);
        }
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(CHECK_LIMIT);
    let _ = child.kill();
    let status = child.wait().ok();
    match line {
        Ok(line) => hello(&line, status),
        Err(_) => Err(OcrOff("the OCR worker did not start in time".into())),
    }
}

/// What a worker's first line says.
fn hello(line: &str, status: Option<ExitStatus>) -> Result<(), OcrOff> {
    match serde_json::from_str::<Hello>(line.trim_end()) {
        Ok(Hello::Ready) => Ok(()),
        Ok(Hello::Off(reason)) => Err(OcrOff(reason)),
        Err(_) if line.is_empty() => Err(OcrOff(format!(
            "the OCR worker stopped before its engine started ({}); is libtesseract5 installed?",
            status.map_or("no exit status".to_string(), |s| s.to_string())
        ))),
        Err(_) => Err(OcrOff(
            "the OCR worker's first words were not the protocol".into(),
        )),
    }
}

/// Tesseract's OpenMP threads spin on every core unless limited: about 3x the CPU per image
/// (BENCHMARKS.md "## OCR"). The operator's own setting wins.
fn omp_thread_limit() -> String {
    std::env::var("OMP_THREAD_LIMIT").unwrap_or_else(|_| "1".into())
}

impl Pool {
    /// A pool of at most `workers` processes of `program`; none starts yet. After a worker
    /// could not start, OCR is off for `retry_after`.
    pub fn new(
        program: PathBuf,
        workers: usize,
        queue: usize,
        idle_after: Duration,
        retry_after: Duration,
    ) -> Pool {
        let workers = workers.max(1);
        Pool {
            inner: Arc::new(Inner {
                program,
                workers,
                admitted: AtomicUsize::new(0),
                limit: workers + queue.max(1),
                slots: tokio::sync::Semaphore::new(workers),
                idle_after,
                idle: Mutex::new(Vec::new()),
                pids: Mutex::new(HashSet::new()),
                off: Mutex::new(None),
                retry_after,
                reaper: AtomicBool::new(false),
            }),
        }
    }

    pub fn workers(&self) -> usize {
        self.inner.workers
    }

    /// Why OCR is off: a worker could not start, less than `retry_after` ago.
    pub fn off(&self) -> Option<OcrOff> {
        lock(&self.inner.off)
            .as_ref()
            .filter(|(_, since)| since.elapsed() < self.inner.retry_after)
            .map(|(off, _)| off.clone())
    }

    /// The pids of the worker processes alive now (idle or reading).
    pub fn worker_pids(&self) -> Vec<u32> {
        let mut pids: Vec<u32> = lock(&self.inner.pids).iter().copied().collect();
        pids.sort_unstable();
        pids
    }

    /// Starts one worker now if none is idle: one-shot commands learn at once whether OCR can
    /// run. Returns why not.
    pub async fn warm(&self, deadline: tokio::time::Instant) -> Result<(), OcrOff> {
        if let Some(off) = self.off() {
            return Err(off);
        }
        if !lock(&self.inner.idle).is_empty() {
            return Ok(());
        }
        let worker = self.start_worker(deadline).await?;
        self.put_back(worker);
        Ok(())
    }

    /// Reads one image, giving up at `deadline` (queue, start and reading included).
    pub async fn read(&self, bytes: &[u8], deadline: tokio::time::Instant) -> Outcome {
        if self.off().is_some() {
            return Outcome::Off;
        }
        let Some(_admitted) = Admission::take(&self.inner) else {
            return Outcome::Unreadable(
                "too many images are being read; try again in a minute".into(),
                0,
            );
        };
        let waited = Instant::now();
        let Ok(Ok(_slot)) = timeout_at(deadline, self.inner.slots.acquire()).await else {
            return Outcome::Unreadable(
                "reading the image took too long (it waited behind others)".into(),
                waited.elapsed().as_millis() as u64,
            );
        };
        let mut worker = match self.take_idle() {
            Some(worker) => worker,
            None => match self.start_worker(deadline).await {
                Ok(worker) => worker,
                Err(_) => return Outcome::Off,
            },
        };
        let started = Instant::now();
        let spent = || started.elapsed().as_millis() as u64;
        match worker.job(bytes, deadline).await {
            Ok(Reply::Page { page, ms }) => {
                self.put_back(worker);
                Outcome::Page(page, ms)
            }
            Ok(Reply::Unreadable { reason, ms }) => {
                self.put_back(worker);
                Outcome::Unreadable(reason, ms)
            }
            Err(broken) => {
                let (log, reason) = match broken {
                    Broken::Late => (
                        "over the time budget".to_string(),
                        "reading the image took too long; its OCR worker was stopped",
                    ),
                    Broken::Stopped(status) => (
                        format!(
                            "it stopped ({})",
                            status.map_or("no exit status".to_string(), |s| s.to_string())
                        ),
                        "the OCR worker stopped while reading this image (it crashed on it)",
                    ),
                    Broken::Garbage => (
                        "it answered with something that is not the protocol".to_string(),
                        "the OCR worker gave a broken answer for this image",
                    ),
                };
                tracing::warn!(
                    pid = worker.pid,
                    "an OCR worker was killed: {log}; the next image starts a new one"
                );
                worker.stop(true).await;
                Outcome::Unreadable(reason.to_string(), spent())
            }
        }
    }

    /// An idle worker still alive, the most recently used first.
    fn take_idle(&self) -> Option<Worker> {
        loop {
            let mut idle = lock(&self.inner.idle).pop()?;
            match idle.worker.child.try_wait() {
                Ok(None) => return Some(idle.worker),
                // It exited by itself while idle: drop it, try the next.
                _ => continue,
            }
        }
    }

    fn put_back(&self, worker: Worker) {
        lock(&self.inner.idle).push(Idle {
            worker,
            since: Instant::now(),
        });
    }

    async fn start_worker(&self, deadline: tokio::time::Instant) -> Result<Worker, OcrOff> {
        let deadline = deadline.min(tokio::time::Instant::now() + START_LIMIT);
        let result = self.spawn(deadline).await;
        match &result {
            Ok(worker) => {
                tracing::info!(pid = worker.pid, "OCR worker started");
                *lock(&self.inner.off) = None;
                self.start_reaper();
            }
            Err(off) => {
                tracing::warn!(
                    "{off}; images are counted, not read (tried again in {} s)",
                    self.inner.retry_after.as_secs()
                );
                *lock(&self.inner.off) = Some((off.clone(), Instant::now()));
            }
        }
        result
    }

    async fn spawn(&self, deadline: tokio::time::Instant) -> Result<Worker, OcrOff> {
        let mut child = Command::new(&self.inner.program)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .env("OMP_THREAD_LIMIT", omp_thread_limit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                OcrOff(format!(
                    "the OCR worker {} could not start: {e}",
                    self.inner.program.display()
                ))
            })?;
        let (Some(stdin), Some(stdout), Some(pid)) =
            (child.stdin.take(), child.stdout.take(), child.id())
        else {
            return Err(OcrOff("the OCR worker started without its pipes".into()));
        };
        lock(&self.inner.pids).insert(pid);
        let mut worker = Worker {
            child,
            stdin: Some(stdin),
            stdout: BufReader::new(stdout),
            pid,
            pool: Arc::downgrade(&self.inner),
        };
        let line = match timeout_at(deadline, worker.line()).await {
            Ok(Ok(line)) => line,
            Ok(Err(Broken::Garbage)) => b"?".to_vec(),
            Ok(Err(_)) => Vec::new(),
            Err(_) => {
                worker.stop(true).await;
                return Err(OcrOff("the OCR worker did not start in time".into()));
            }
        };
        let text = String::from_utf8_lossy(&line).into_owned();
        if let Err(off) = hello(&text, None) {
            // The exit status says more than "stopped" when it died before its first line.
            let status = worker.stop(true).await;
            return Err(hello(&text, status).err().unwrap_or(off));
        }
        Ok(worker)
    }

    /// Stops workers idle for `idle_after`, until the pool is gone.
    fn start_reaper(&self) {
        if self.inner.reaper.swap(true, Ordering::SeqCst) {
            return;
        }
        let pool = Arc::downgrade(&self.inner);
        let tick = (self.inner.idle_after / 4).max(Duration::from_millis(100));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(tick).await;
                let Some(inner) = pool.upgrade() else { return };
                let expired: Vec<Worker> = {
                    let mut idle = lock(&inner.idle);
                    let (old, fresh) = idle
                        .drain(..)
                        .partition(|w: &Idle| w.since.elapsed() >= inner.idle_after);
                    *idle = fresh;
                    old.into_iter().map(|w| w.worker).collect()
                };
                drop(inner);
                for worker in expired {
                    tracing::info!(pid = worker.pid, "OCR worker stopped: idle");
                    worker.stop(false).await;
                }
            }
        });
    }
}

/// One admitted image; the count drops with it.
struct Admission<'a>(&'a Inner);

impl<'a> Admission<'a> {
    fn take(inner: &'a Inner) -> Option<Admission<'a>> {
        let before = inner.admitted.fetch_add(1, Ordering::SeqCst);
        if before >= inner.limit {
            inner.admitted.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        Some(Admission(inner))
    }
}

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        self.0.admitted.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Worker {
    /// Sends one image and waits for its answer until `deadline`.
    async fn job(&mut self, bytes: &[u8], deadline: tokio::time::Instant) -> Result<Reply, Broken> {
        let exchange = async {
            let header = protocol::request_header(bytes.len());
            let sent = async {
                let stdin = self.stdin.as_mut().ok_or(std::io::ErrorKind::BrokenPipe)?;
                stdin.write_all(&header).await?;
                stdin.write_all(bytes).await?;
                stdin.flush().await
            };
            if sent.await.is_err() {
                // Its end of the pipe closed: it died (the status comes from `stop`).
                return Err(Broken::Stopped(None));
            }
            let line = self.line().await?;
            serde_json::from_slice::<Reply>(&line).map_err(|_| Broken::Garbage)
        };
        match timeout_at(deadline, exchange).await {
            Ok(Err(Broken::Stopped(_))) => {
                // Give it a moment to be reaped, so the log says how it died.
                let status = tokio::time::timeout(Duration::from_secs(1), self.child.wait())
                    .await
                    .ok()
                    .and_then(Result::ok);
                Err(Broken::Stopped(status))
            }
            Ok(result) => result,
            Err(_) => Err(Broken::Late),
        }
    }

    /// One line from the worker, without its `\n`: `Stopped` at end of output, `Garbage` when
    /// too long.
    async fn line(&mut self) -> Result<Vec<u8>, Broken> {
        let mut line = Vec::new();
        let read = (&mut self.stdout)
            .take(protocol::MAX_LINE)
            .read_until(b'\n', &mut line)
            .await;
        match read {
            Ok(0) | Err(_) => Err(Broken::Stopped(None)),
            Ok(_) if line.last() == Some(&b'\n') => {
                line.pop();
                Ok(line)
            }
            // Cut off by the limit, or by the end of its output mid-line.
            Ok(_) => Err(Broken::Garbage),
        }
    }

    /// Ends the worker: politely (its stdin closed, it exits) or with a kill. Returns its exit
    /// status once reaped.
    async fn stop(mut self, kill: bool) -> Option<ExitStatus> {
        drop(self.stdin.take());
        if !kill {
            if let Ok(Ok(status)) = tokio::time::timeout(EXIT_LIMIT, self.child.wait()).await {
                return Some(status);
            }
        }
        let _ = self.child.start_kill();
        self.child.wait().await.ok()
    }
}
