//! `baton conduct COMPONENT.wasm --param k=v …`: a one-shot local conduct, no server: an
//! in-memory store, the built-in simulated beamline (or `--catalog`), the component loaded,
//! a procedure defined and conducted (or try-conducted) with a progress bar, and the outcome
//! printed. Exit code 0 when the procedure completed, 1 otherwise, 2 on unusable input.
//!
//! Also home of [`StepBar`], the progress display `baton demo` shares: an indicatif bar on a
//! terminal, plain lines elsewhere (CI logs, pipes).

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Map, Value as Json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::conductor::{ConductError, ConductOutcome, Conductor, Verb};
use crate::domain::procedure::{DefineProcedure, Procedure, ProcedureCommand, ProcedureStatus};
use crate::ports::{Catalog, CatalogError};
use crate::sandbox::{LoadError, Sandbox, SandboxConfig, SandboxError};
use crate::store::{ComponentStore, NewComponent, SqliteStore, StepJournal, StoreError};

/// Arguments of `baton conduct`.
#[derive(Clone, Debug, clap::Args)]
pub struct ConductArgs {
    /// The component to conduct (a `.wasm` built for wasm32-wasip2).
    pub component: PathBuf,
    /// A parameter, `name=value`; the value is read as JSON when it parses (3, 1.5, true,
    /// [1,2]) and as text otherwise. Repeatable; left-out parameters take their defaults.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// A device catalog (TOML); default the built-in simulated beamline.
    #[arg(long, value_name = "FILE")]
    pub catalog: Option<PathBuf>,
    /// try-conduct: hold on a recoverable failure instead of aborting.
    #[arg(long = "try")]
    pub try_conduct: bool,
    /// Real seconds per simulated second of the sim beamline (default: the catalog's).
    #[arg(long, value_name = "FACTOR")]
    pub time_scale: Option<f64>,
}

/// Why `baton conduct` could not run the procedure at all.
#[derive(Debug, thiserror::Error)]
pub enum ConductCliError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("--param {0:?}: expected NAME=VALUE")]
    BadParam(String),
    #[error("{0}")]
    Params(String),
    #[error("catalog: {0}")]
    Catalog(#[from] CatalogError),
    #[error("sandbox: {0}")]
    Sandbox(#[from] SandboxError),
    #[error("the component was refused: {0}")]
    Load(#[from] LoadError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("define refused: {0}")]
    Define(String),
    #[error("conduct refused: {0}")]
    Conduct(#[from] ConductError),
    #[error("cannot write the report: {0}")]
    Io(#[from] std::io::Error),
}

impl ConductCliError {
    /// 2 for input that cannot be used, 1 for a refusal of the procedure itself.
    pub fn code(&self) -> u8 {
        match self {
            ConductCliError::Read { .. }
            | ConductCliError::BadParam(_)
            | ConductCliError::Catalog(_)
            | ConductCliError::Io(_) => 2,
            _ => 1,
        }
    }
}

/// `name=value` pairs as a JSON object: JSON values where they parse, text otherwise.
pub fn params_json(pairs: &[String]) -> Result<Map<String, Json>, ConductCliError> {
    let mut map = Map::new();
    for pair in pairs {
        let (name, value) = pair
            .split_once('=')
            .filter(|(n, _)| !n.trim().is_empty())
            .ok_or_else(|| ConductCliError::BadParam(pair.clone()))?;
        let value =
            serde_json::from_str::<Json>(value).unwrap_or_else(|_| Json::String(value.to_owned()));
        map.insert(name.trim().to_owned(), value);
    }
    Ok(map)
}

/// Steps done of a total, drawn as a bar on a terminal and as plain lines elsewhere.
pub struct StepBar {
    bar: Option<ProgressBar>,
    label: String,
    total: u64,
    /// Plain mode: the last tenth reported.
    reported: Option<u64>,
}

impl StepBar {
    pub fn new(label: &str, total: u64, tty: bool) -> StepBar {
        let bar = tty.then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stdout());
            let style = ProgressStyle::with_template(
                "  {prefix} [{bar:32.cyan/blue}] {pos}/{len} steps  {msg}",
            )
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_prefix(label.to_owned());
            bar
        });
        StepBar {
            bar,
            label: label.to_owned(),
            total,
            reported: None,
        }
    }

    /// Shows `done` steps; `eta` in seconds if known.
    pub fn set(&mut self, done: u64, eta: Option<f64>, out: &mut dyn Write) -> std::io::Result<()> {
        let done = done.min(self.total);
        match &self.bar {
            Some(bar) => {
                bar.set_position(done);
                bar.set_message(eta.map_or_else(String::new, |s| format!("eta {s:.1} s")));
            }
            None => {
                let tenth = (done * 10).checked_div(self.total).unwrap_or(10);
                if self.reported != Some(tenth) {
                    self.reported = Some(tenth);
                    writeln!(out, "  {}: {done}/{} steps", self.label, self.total)?;
                }
            }
        }
        Ok(())
    }

    /// Ends the display with a last word.
    pub fn finish(self, done: u64, message: &str, out: &mut dyn Write) -> std::io::Result<()> {
        match self.bar {
            Some(bar) => {
                bar.set_position(done.min(self.total));
                // `finish*` would fill the bar; a held conduct stopped part way.
                bar.abandon_with_message(message.to_owned());
                Ok(())
            }
            None => writeln!(
                out,
                "  {}: {}/{} steps, {message}",
                self.label,
                done.min(self.total),
                self.total
            ),
        }
    }
}

fn describe_outcome(outcome: &ConductOutcome) -> String {
    let mut text = format!(
        "{} → {} ({} of {} steps ran to ok, actuation {:?})",
        outcome.verb.as_str(),
        outcome.status,
        outcome.completed_steps,
        outcome.step_count,
        outcome.actuation_kind
    );
    if let Some(f) = &outcome.failure {
        text.push_str(&format!(
            "\n  failed at step {} ({} {}): {}: {}",
            f.step_index,
            f.kind.as_str(),
            f.target,
            f.class.as_str(),
            f.message
        ));
    }
    if let Some(h) = &outcome.halted {
        text.push_str(&format!(
            "\n  halted before step {}: {}",
            h.step_index, h.reason
        ));
    }
    if let Some(l) = &outcome.lifecycle_failure {
        text.push_str(&format!("\n  lifecycle failure: {l}"));
    }
    text
}

/// Runs `baton conduct`; the outcome on success (exit 0 if it completed, else 1).
pub async fn run(
    args: &ConductArgs,
    tty: bool,
    out: &mut dyn Write,
) -> Result<ConductOutcome, ConductCliError> {
    let wasm = std::fs::read(&args.component).map_err(|source| ConductCliError::Read {
        path: args.component.clone(),
        source,
    })?;
    let given = params_json(&args.params)?;
    let mut catalog = match &args.catalog {
        Some(path) => Catalog::load(path)?,
        None => Catalog::builtin()?,
    };
    if let Some(scale) = args.time_scale {
        catalog = catalog.with_time_scale(scale)?;
    }
    let store = SqliteStore::memory().await?;
    let sandbox = Sandbox::new(SandboxConfig::default())?;
    let loaded = sandbox.load(&wasm).await?;
    let info = loaded.info().clone();
    let params = info
        .typed_params(&given)
        .map_err(|e| ConductCliError::Params(e.to_string()))?;
    let info_json = serde_json::to_value(&info)
        .map_err(|e| StoreError::Corrupt(format!("info does not serialize: {e}")))?;
    store
        .put_component(&NewComponent::new(
            wasm,
            &info.name,
            &info.version,
            info_json,
            OffsetDateTime::now_utc(),
        ))
        .await?;
    let router = Arc::new(catalog.router()?);
    let conductor = Conductor::new(store.clone(), sandbox, router, Arc::new(catalog));
    let id = Uuid::now_v7();
    let define = ProcedureCommand::Define(DefineProcedure {
        id,
        name: info.name.clone(),
        component_digest: loaded.digest().to_owned(),
        params,
        parent_run: None,
        max_unconverged_iterations: None,
    });
    crate::app::execute::<Procedure, _>(&store, id, &define, OffsetDateTime::now_utc(), &[])
        .await
        .map_err(|e: crate::app::CommandError<_>| ConductCliError::Define(e.to_string()))?;
    let verb = if args.try_conduct {
        Verb::TryConduct
    } else {
        Verb::Conduct
    };
    writeln!(out, "{} {} ({})", verb.as_str(), info.name, loaded.digest())?;

    let conducting = {
        let conductor = conductor.clone();
        tokio::spawn(async move { conductor.conduct(id, verb).await })
    };
    let mut bar: Option<StepBar> = None;
    let started = Instant::now();
    let outcome = loop {
        if conducting.is_finished() {
            break conducting
                .await
                .map_err(|e| ConductCliError::Define(format!("the conduct task failed: {e}")))??;
        }
        if bar.is_none() {
            let state = crate::app::load::<Procedure, _>(&store, id).await?;
            if let Some(pin) = state.state.and_then(|s| s.pin) {
                bar = Some(StepBar::new(&info.name, pin.step_count, tty));
            }
        }
        if let Some(bar) = &mut bar {
            let done = store.completed_steps(id).await?;
            let eta = (done > 0).then(|| {
                started.elapsed().as_secs_f64() / done as f64
                    * bar.total.saturating_sub(done) as f64
            });
            bar.set(done, eta, out)?;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let word = match outcome.status {
        ProcedureStatus::Completed => "completed",
        ProcedureStatus::Held => "held",
        ProcedureStatus::Aborted => "aborted",
        _ => "stopped",
    };
    match bar {
        Some(bar) => bar.finish(outcome.completed_steps, word, out)?,
        None => StepBar::new(&info.name, outcome.step_count, tty).finish(
            outcome.completed_steps,
            word,
            out,
        )?,
    }
    writeln!(out, "{}", describe_outcome(&outcome))?;
    writeln!(
        out,
        "{}",
        serde_json::to_string_pretty(&outcome).unwrap_or_default()
    )?;
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn params_read_json_where_it_parses_and_text_otherwise() {
        let map = params_json(&[
            "x_points=5".into(),
            "snake=false".into(),
            "x_motor=sim:mx".into(),
            "name=\"quoted\"".into(),
            "list=[1,2.5]".into(),
            "empty=".into(),
        ])
        .unwrap();
        assert_eq!(map["x_points"], 5);
        assert_eq!(map["snake"], false);
        assert_eq!(map["x_motor"], "sim:mx");
        assert_eq!(map["name"], "quoted");
        assert_eq!(map["list"], serde_json::json!([1, 2.5]));
        assert_eq!(map["empty"], "");
        assert!(params_json(&["novalue".into()]).is_err());
        assert!(params_json(&["=3".into()]).is_err());
    }

    #[test]
    fn plain_progress_reports_each_tenth_once() {
        let mut out = Vec::new();
        let mut bar = StepBar::new("scan", 20, false);
        for done in 0..=20 {
            bar.set(done, None, &mut out).unwrap();
        }
        bar.finish(20, "completed", &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 12);
        assert!(text.ends_with("scan: 20/20 steps, completed\n"));
    }
}
