//! The EPICS test harness: starts the real soft IOC of `tests/epics/ioc.py` (pythonSoftIOC, from
//! the venv `scripts/setup-epics.sh` makes) bound to 127.0.0.1 on a free port, and points this
//! process's Channel Access client at it. Shared by the `epics` integration tests, the `epics`
//! benchmark and, through `#[path]`, any end-to-end test that needs a real IOC:
//!
//! ```ignore
//! #[path = "../../host/tests/epics/harness.rs"]
//! mod harness;
//! let ioc = harness::shared();           // one IOC per test binary, prefix "BT"
//! let pv = ioc.pv("M1:VAL");             // "BT:M1:VAL"
//! ```
//!
//! - [`shared`] starts one IOC per process, held in a static. It dies with the process: the IOC
//!   exits when its stdin reaches EOF. Tests share it, so each test uses its own records.
//! - [`RestartableIoc`] is a second IOC a test owns, on a port reserved up front, that it can
//!   kill (SIGKILL, as a crash) and start again on the same port. Its `Drop` kills it, on panic
//!   too. One test at a time holds it.
//! - libca reads `EPICS_CA_ADDR_LIST` when a context creates its first channel, and the
//!   environment is process-global, so [`env`] sets it exactly once, naming both IOCs' ports,
//!   before any test makes a context. Every entry point here calls it first.
//! - A port collision is silent in EPICS (the second IOC takes another TCP port and keeps
//!   running), so "Configured TCP port was unavailable" on the IOC's stderr is fatal: the shared
//!   IOC retries on another port, the restartable one fails loudly.

#![allow(dead_code, unsafe_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// The shared IOC's record prefix.
pub const PREFIX: &str = "BT";
/// The restartable IOC's record prefix.
pub const RESTART_PREFIX: &str = "RS";

const COLLISION: &str = "Configured TCP port was unavailable";
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The repository root: the nearest ancestor of the including crate's manifest dir that holds
/// `tests/epics/ioc.py` (so `host/` and the workspace's `tests/` crate both find it).
pub fn repo_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .find(|dir| dir.join("tests/epics/ioc.py").is_file())
        .unwrap_or_else(|| panic!("no tests/epics/ioc.py above {}", manifest.display()))
        .to_path_buf()
}

/// The venv's python (`BATON_EPICS_PYTHON` overrides).
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("BATON_EPICS_PYTHON") {
        return PathBuf::from(p);
    }
    let p = repo_root().join(".venv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run scripts/setup-epics.sh (or set BATON_EPICS_PYTHON)",
        p.display()
    );
    p
}

fn ioc_script() -> PathBuf {
    repo_root().join("tests/epics/ioc.py")
}

/// A port free on 127.0.0.1 for both TCP and UDP, with the sockets that hold it.
fn reserve_port() -> (u16, TcpListener, UdpSocket) {
    loop {
        let tcp = TcpListener::bind(("127.0.0.1", 0)).expect("bind a TCP port on 127.0.0.1");
        let port = tcp.local_addr().expect("local addr").port();
        if let Ok(udp) = UdpSocket::bind(("127.0.0.1", port)) {
            return (port, tcp, udp);
        }
    }
}

/// The process's CA environment, set once: both IOCs' ports, loopback only.
pub struct Env {
    pub shared_port: u16,
    pub restart_port: u16,
    /// Holds the restartable IOC's port until that IOC first starts.
    restart_reservation: Mutex<Option<(TcpListener, UdpSocket)>>,
    /// Serialises the tests that use the restartable IOC.
    restart_lock: Mutex<()>,
}

static ENV: OnceLock<Env> = OnceLock::new();
static SHARED: OnceLock<Ioc> = OnceLock::new();

/// Sets the CA client environment (once) and starts the shared IOC on a port that is really
/// its own, retrying on a collision. Returns the environment.
pub fn env() -> &'static Env {
    ENV.get_or_init(|| {
        let (restart_port, tcp2, udp2) = reserve_port();
        let mut attempts = 0;
        let (shared_port, ioc) = loop {
            attempts += 1;
            let (port, tcp, udp) = reserve_port();
            drop((tcp, udp));
            match Ioc::spawn(PREFIX, port) {
                Ok(ioc) => break (port, ioc),
                Err(SpawnError::Collision(stderr)) if attempts < 5 => {
                    eprintln!("EPICS port {port} collided, retrying: {stderr}");
                }
                Err(e) => panic!("cannot start the shared IOC: {e:?}"),
            }
        };
        set_client_env(&format!("127.0.0.1:{shared_port} 127.0.0.1:{restart_port}"));
        if SHARED.set(ioc).is_err() {
            unreachable!("the shared IOC starts only inside ENV's initialiser");
        }
        Env {
            shared_port,
            restart_port,
            restart_reservation: Mutex::new(Some((tcp2, udp2))),
            restart_lock: Mutex::new(()),
        }
    })
}

fn set_client_env(addr_list: &str) {
    // SAFETY (the reason `unsafe_code` is allowed in this file): this runs once, inside the
    // OnceLock initialiser every EPICS test and benchmark calls before it creates a CA context,
    // so no CA thread of this process reads the environment concurrently.
    unsafe {
        std::env::set_var("EPICS_CA_ADDR_LIST", addr_list);
        std::env::set_var("EPICS_CA_AUTO_ADDR_LIST", "NO");
        std::env::remove_var("EPICS_CA_SERVER_PORT");
        std::env::remove_var("EPICS_CA_NAME_SERVERS");
    }
}

/// The shared IOC, started on first use.
pub fn shared() -> &'static Ioc {
    env();
    SHARED.get().expect("set by env()")
}

#[derive(Debug)]
pub enum SpawnError {
    /// Another server holds the port.
    Collision(String),
    /// The IOC died or never printed READY.
    Failed(String),
}

/// A running IOC process.
pub struct Ioc {
    pub prefix: String,
    pub port: u16,
    child: Mutex<Option<(Child, ChildStdin)>>,
    stderr: Arc<Mutex<Vec<String>>>,
}

enum Line {
    Out(String),
    Err(String),
}

fn forward<R: std::io::Read + Send + 'static>(
    reader: R,
    tx: mpsc::Sender<Line>,
    wrap: fn(String) -> Line,
    log: Option<Arc<Mutex<Vec<String>>>>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(reader).lines() {
            let Ok(line) = line else { break };
            if let Some(log) = &log {
                let mut log = log.lock().unwrap();
                if log.len() < 1000 {
                    log.push(line.clone());
                }
            }
            // The receiver goes away after READY; keep draining so the pipe never fills.
            let _ = tx.send(wrap(line));
        }
    });
}

impl Ioc {
    /// Starts `tests/epics/ioc.py` serving `prefix` on 127.0.0.1:`port` and waits for READY.
    pub fn spawn(prefix: &str, port: u16) -> Result<Ioc, SpawnError> {
        let mut child = Command::new(python())
            .arg(ioc_script())
            .arg("--prefix")
            .arg(prefix)
            .env("EPICS_CAS_INTF_ADDR_LIST", "127.0.0.1")
            .env("EPICS_CAS_SERVER_PORT", port.to_string())
            .env("EPICS_CAS_BEACON_ADDR_LIST", "127.0.0.1")
            .env("EPICS_CAS_AUTO_BEACON_ADDR_LIST", "NO")
            .env("EPICS_CA_ADDR_LIST", format!("127.0.0.1:{port}"))
            .env("EPICS_CA_AUTO_ADDR_LIST", "NO")
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| SpawnError::Failed(format!("cannot run {}: {e}", python().display())))?;
        let stdin = child.stdin.take().expect("piped stdin");
        let (tx, rx) = mpsc::channel();
        let stderr = Arc::new(Mutex::new(Vec::new()));
        forward(
            child.stdout.take().expect("piped stdout"),
            tx.clone(),
            Line::Out,
            None,
        );
        forward(
            child.stderr.take().expect("piped stderr"),
            tx,
            Line::Err,
            Some(Arc::clone(&stderr)),
        );
        match wait_ready(&rx) {
            Ok(()) => Ok(Ioc {
                prefix: prefix.to_owned(),
                port,
                child: Mutex::new(Some((child, stdin))),
                stderr,
            }),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(e)
            }
        }
    }

    /// The full PV name of a record: `"M1:VAL"` → `"BT:M1:VAL"`.
    pub fn pv(&self, record: &str) -> String {
        format!("{}:{record}", self.prefix)
    }

    /// Kills the IOC at once (SIGKILL: a crash, no clean CA shutdown) and reaps it.
    pub fn kill(&self) {
        if let Some((mut child, stdin)) = self.child.lock().unwrap().take() {
            let _ = child.kill();
            let _ = child.wait();
            drop(stdin);
        }
    }

    /// What the IOC printed to stderr so far (for failure messages).
    pub fn stderr(&self) -> Vec<String> {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for Ioc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Waits for READY on stdout and for the STDERR-SYNC line that the IOC prints to stderr just
/// before it, so every line iocInit wrote to stderr has been seen.
fn wait_ready(rx: &Receiver<Line>) -> Result<(), SpawnError> {
    let deadline = Instant::now() + START_TIMEOUT;
    let (mut ready, mut synced) = (false, false);
    let mut errors = Vec::new();
    while !(ready && synced) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(Line::Out(line)) => ready |= line.trim() == "READY",
            Ok(Line::Err(line)) => {
                synced |= line.trim() == "STDERR-SYNC";
                errors.push(line);
            }
            Err(RecvTimeoutError::Timeout) => {
                return Err(SpawnError::Failed(format!(
                    "no READY within {START_TIMEOUT:?}; stderr: {}",
                    errors.join("\n")
                )));
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(SpawnError::Failed(format!(
                    "the IOC exited before READY; stderr: {}",
                    errors.join("\n")
                )));
            }
        }
    }
    if errors.iter().any(|l| l.contains(COLLISION)) {
        return Err(SpawnError::Collision(errors.join("\n")));
    }
    Ok(())
}

/// An IOC a test owns on the reserved port, serving [`RESTART_PREFIX`]: it can be killed and
/// started again on the same port. Dropping it kills it.
pub struct RestartableIoc {
    ioc: Option<Ioc>,
    _turn: MutexGuard<'static, ()>,
}

impl RestartableIoc {
    /// Starts the IOC (waiting for any other test that holds it to finish).
    pub fn start() -> RestartableIoc {
        let env = env();
        let turn = env
            .restart_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut this = RestartableIoc {
            ioc: None,
            _turn: turn,
        };
        this.restart();
        this
    }

    pub fn ioc(&self) -> &Ioc {
        self.ioc.as_ref().expect("the restartable IOC is running")
    }

    pub fn pv(&self, record: &str) -> String {
        format!("{RESTART_PREFIX}:{record}")
    }

    /// Kills the IOC (SIGKILL) and waits until the process is gone.
    pub fn kill(&mut self) {
        if let Some(ioc) = self.ioc.take() {
            ioc.kill();
        }
    }

    /// Starts the IOC again on the same port (after [`kill`](Self::kill)).
    pub fn restart(&mut self) {
        self.kill();
        let env = env();
        drop(env.restart_reservation.lock().unwrap().take());
        match Ioc::spawn(RESTART_PREFIX, env.restart_port) {
            Ok(ioc) => self.ioc = Some(ioc),
            Err(e) => panic!(
                "cannot start the restartable IOC on reserved port {}: {e:?}",
                env.restart_port
            ),
        }
    }
}

impl Drop for RestartableIoc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Reads a PV with an independent CA client (pyepics, in the venv's python) and returns the
/// value as pyepics prints it with `as_string=True` (the same CA environment as this process).
pub fn caget(pv: &str) -> String {
    env();
    let out = Command::new(python())
        .arg("-c")
        .arg(
            "import sys, epics\n\
             v = epics.caget(sys.argv[1], as_string=True, timeout=10.0)\n\
             sys.exit(f'caget {sys.argv[1]} failed') if v is None else print(v)",
        )
        .arg(pv)
        .stdin(Stdio::null())
        .output()
        .expect("run pyepics caget");
    assert!(
        out.status.success(),
        "caget {pv}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Reads a numeric PV with pyepics at full precision (the double CA delivers, printed with
/// `repr`), not rounded to the record's PREC as [`caget`] prints it.
pub fn caget_float(pv: &str) -> f64 {
    env();
    let out = Command::new(python())
        .arg("-c")
        .arg(
            "import sys, epics\n\
             v = epics.caget(sys.argv[1], timeout=10.0)\n\
             sys.exit(f'caget {sys.argv[1]} failed') if v is None else print(repr(float(v)))",
        )
        .arg(pv)
        .stdin(Stdio::null())
        .output()
        .expect("run pyepics caget");
    assert!(
        out.status.success(),
        "caget {pv}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    text.parse()
        .unwrap_or_else(|_| panic!("caget {pv}: {text:?} is not a number"))
}

/// Writes a PV with an independent CA client (pyepics `caput`, waiting for completion), as a
/// technician at the beamline would.
pub fn caput(pv: &str, value: &str) {
    env();
    let out = Command::new(python())
        .arg("-c")
        .arg(
            "import sys, epics\n\
             value = sys.argv[2]\n\
             try:\n    value = float(value)\nexcept ValueError:\n    pass\n\
             ok = epics.caput(sys.argv[1], value, wait=True, timeout=10.0)\n\
             sys.exit(f'caput {sys.argv[1]} failed') if ok != 1 else None",
        )
        .arg(pv)
        .arg(value)
        .stdin(Stdio::null())
        .output()
        .expect("run pyepics caput");
    assert!(
        out.status.success(),
        "caput {pv} {value}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
