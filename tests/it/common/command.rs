//! The one way tests run the `wirewatch` binary: [`Wirewatch`] says what to run (arguments,
//! environment, a shell prelude such as `ulimit` or `umask`, another user), then either waits for
//! the [`Output`] or starts a [`Daemon`] whose stderr is collected line by line. It does not
//! write configs (`config`) nor decide what a test expects.

use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{binary, free_port, write_config};

/// Output of a finished command.
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl From<std::process::Output> for Output {
    fn from(output: std::process::Output) -> Output {
        Output {
            status: output.status,
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// `wirewatch ARGUMENTS…` with `WIREWATCH_LOG=info`, run to the end.
pub async fn wirewatch(arguments: &[&str]) -> Output {
    wirewatch_with_env(arguments, &[]).await
}

/// As [`wirewatch`], with extra environment variables (`${VAR}` values of the config).
pub async fn wirewatch_with_env(arguments: &[&str], environment: &[(&str, &str)]) -> Output {
    Wirewatch::new(arguments)
        .env("WIREWATCH_LOG", "info")
        .envs(environment)
        .output()
        .await
}

/// What to run: the binary with its arguments, always with `NO_COLOR=1` and killed when the
/// test drops it.
#[derive(Clone, Debug)]
pub struct Wirewatch {
    arguments: Vec<String>,
    environment: Vec<(String, String)>,
    prelude: Option<String>,
    user: Option<u32>,
}

impl Wirewatch {
    pub fn new(arguments: &[&str]) -> Wirewatch {
        Wirewatch {
            arguments: arguments
                .iter()
                .map(|argument| argument.to_string())
                .collect(),
            environment: vec![("NO_COLOR".to_string(), "1".to_string())],
            prelude: None,
            user: None,
        }
    }

    /// `wirewatch COMMAND --config CONFIG` (`once`, `run`, `check`, …).
    pub fn with_config(command: &str, config: &Path) -> Wirewatch {
        Wirewatch::new(&[command, "--config", config.to_str().unwrap()])
    }

    pub fn env(mut self, name: &str, value: &str) -> Wirewatch {
        self.environment.push((name.to_string(), value.to_string()));
        self
    }

    pub fn envs(mut self, environment: &[(&str, &str)]) -> Wirewatch {
        for (name, value) in environment {
            self = self.env(name, value);
        }
        self
    }

    /// Shell commands run first (`ulimit -S -n 256`, `umask 022`); `sh` then execs the binary,
    /// so the process id is the binary's.
    pub fn prelude(mut self, commands: &str) -> Wirewatch {
        self.prelude = Some(commands.to_string());
        self
    }

    /// Runs the binary as this user and group id, with no supplementary groups (`setpriv`,
    /// util-linux; needs root).
    pub fn run_as(mut self, id: u32) -> Wirewatch {
        self.user = Some(id);
        self
    }

    /// The process to start, for the rare test that drives stdin itself (set the pipes on it).
    pub fn command(&self) -> tokio::process::Command {
        let mut words: Vec<String> = Vec::new();
        if let Some(id) = self.user {
            words.extend([
                "setpriv".to_string(),
                format!("--reuid={id}"),
                format!("--regid={id}"),
                "--clear-groups".to_string(),
                "--".to_string(),
            ]);
        }
        words.push(binary().to_string());
        words.extend(self.arguments.iter().cloned());
        let mut command = match &self.prelude {
            Some(prelude) => {
                let mut shell = tokio::process::Command::new("sh");
                shell
                    .arg("-c")
                    .arg(format!("{prelude} && exec \"$0\" \"$@\""))
                    .args(&words);
                shell
            }
            None => {
                let mut direct = tokio::process::Command::new(&words[0]);
                direct.args(&words[1..]);
                direct
            }
        };
        command
            .envs(self.environment.iter().map(|(name, value)| (name, value)))
            .kill_on_drop(true);
        command
    }

    /// Runs to the end and collects stdout and stderr.
    pub async fn output(self) -> Output {
        let output = self
            .command()
            .output()
            .await
            .unwrap_or_else(|error| panic!("cannot run {self:?}: {error}"));
        Output::from(output)
    }

    /// Starts in the background (for `run`), stderr collected by the [`Daemon`].
    pub fn daemon(self) -> Daemon {
        use tokio::io::{AsyncBufReadExt, BufReader};
        let mut child = self
            .command()
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {self:?}: {error}"));
        let log = Arc::new(Mutex::new(Vec::new()));
        let lines = log.clone();
        let stderr = child.stderr.take().unwrap();
        let reader = tokio::spawn(async move {
            let mut reader = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                lines.lock().unwrap().push(line);
            }
        });
        Daemon {
            child,
            log,
            reader: Some(reader),
        }
    }
}

/// `wirewatch run` in the background, its stderr collected line by line; killed on drop.
pub struct Daemon {
    pub child: tokio::process::Child,
    log: Arc<Mutex<Vec<String>>>,
    reader: Option<tokio::task::JoinHandle<()>>,
}

impl Daemon {
    /// Starts `run` on `config` with extra environment variables.
    pub fn start(config: &Path, environment: &[(&str, &str)]) -> Daemon {
        Wirewatch::with_config("run", config)
            .envs(environment)
            .daemon()
    }

    /// Like [`Daemon::start`], with the soft and hard open-files limits both set to `limit`.
    pub fn start_with_open_files(
        config: &Path,
        environment: &[(&str, &str)],
        limit: u32,
    ) -> Daemon {
        Wirewatch::with_config("run", config)
            .envs(environment)
            .prelude(&format!("ulimit -n {limit}"))
            .daemon()
    }

    /// Starts `run` with `[daemon] listen` on a free loopback port: writes `config(port)` into
    /// `folder` and waits until the daemon says it listens. A port that was taken between the
    /// choice and the bind (the daemon exits with "cannot listen on") is replaced by another, so
    /// the race between choosing a port and binding it cannot fail a test. The configuration
    /// needs the port itself (`public_url` names it), which is why the port is not 0.
    pub async fn start_listening(
        folder: &Path,
        environment: &[(&str, &str)],
        config: impl Fn(u16) -> String,
    ) -> (Daemon, u16, PathBuf) {
        let mut environment: Vec<(&str, &str)> = environment.to_vec();
        if !environment.iter().any(|(name, _)| *name == "WIREWATCH_LOG") {
            environment.push(("WIREWATCH_LOG", "info"));
        }
        for _ in 0..10 {
            let port = free_port();
            let path = write_config(folder, &config(port));
            let mut daemon = Daemon::start(&path, &environment);
            let start = std::time::Instant::now();
            while start.elapsed() < Duration::from_secs(60) {
                if daemon.log_text().contains("HTTP listener: /healthz") {
                    return (daemon, port, path);
                }
                if daemon.child.try_wait().unwrap().is_some() {
                    daemon.finish_log().await;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let log = daemon.log_text();
            assert!(
                log.contains("cannot listen on"),
                "the daemon did not start listening:\n{log}"
            );
        }
        panic!("no free port after 10 tries");
    }

    /// Sends a signal by name (`TERM`, `HUP`, …).
    pub fn signal(&self, name: &str) {
        let pid = self.child.id().unwrap().to_string();
        assert!(std::process::Command::new("kill")
            .args([&format!("-{name}"), &pid])
            .status()
            .unwrap()
            .success());
    }

    /// SIGKILL, and waits until the process is gone.
    pub async fn kill(&mut self) {
        self.child.start_kill().unwrap();
        self.child.wait().await.unwrap();
        self.finish_log().await;
    }

    /// Waits for the process to exit by itself (after [`Daemon::signal`]), at most `deadline`
    /// (a bound for a hang, not a timing), and returns its status with the log complete.
    pub async fn wait_exit(&mut self, deadline: Duration) -> ExitStatus {
        let status = tokio::time::timeout(deadline, self.child.wait())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "the daemon did not exit within {deadline:?}:\n{}",
                    self.log_text()
                )
            })
            .unwrap();
        self.finish_log().await;
        status
    }

    /// After the process is gone: lets the reader take the last lines (it ends at end of file).
    async fn finish_log(&mut self) {
        if let Some(reader) = self.reader.take() {
            let _ = tokio::time::timeout(Duration::from_secs(30), reader).await;
        }
    }

    /// Whether a log line containing `needle` appears before `deadline`.
    pub async fn wait_for_log(&self, needle: &str, deadline: Duration) -> bool {
        let start = std::time::Instant::now();
        while start.elapsed() < deadline {
            if self
                .log
                .lock()
                .unwrap()
                .iter()
                .any(|line| line.contains(needle))
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    /// The address the listener bound, from its start-up line (`listen = "127.0.0.1:0"` lets
    /// the kernel choose a free port, with no race).
    pub async fn listen_address(&self) -> String {
        assert!(
            self.wait_for_log("HTTP listener: /healthz", Duration::from_secs(60))
                .await,
            "the daemon did not start listening:\n{}",
            self.log_text()
        );
        let log = self.log_text();
        let line = log
            .lines()
            .find(|line| line.contains("HTTP listener: /healthz"))
            .unwrap();
        let (_, rest) = line.split_once("address=").unwrap();
        rest.split_whitespace().next().unwrap().to_string()
    }

    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}
