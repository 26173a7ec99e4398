//! `baton validate <component.wasm>`: the CI gate for a procedure component. Checks the world,
//! prints what `describe` declares, resolves with the given parameters (or the declared
//! defaults), reports the step count, fuel and peak memory, and with `--golden` compares the
//! steps with a checked-in golden file, printing the first differences. Exit codes: 0 valid,
//! 1 invalid (the reason is printed), 2 usage error (unreadable or malformed input files).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::domain::{Step, StepKind, Value};
use crate::sandbox::{
    ChannelReader, Info, LoadError, MapReader, NoReads, ParamKind, Resolution, ResolveFailure,
    Sandbox, SandboxConfig, value_from_json,
};

/// Arguments of `baton validate`.
#[derive(Clone, Debug, clap::Args)]
pub struct ValidateArgs {
    /// The component to check (a `.wasm` built for wasm32-wasip2).
    pub component: PathBuf,
    /// Parameters as a JSON object (name: value); undeclared ones fall back to their defaults.
    #[arg(long, value_name = "FILE.json")]
    pub params: Option<PathBuf>,
    /// Golden steps (a JSON array of steps) that the resolution must equal.
    #[arg(long, value_name = "FILE.json")]
    pub golden: Option<PathBuf>,
    /// With --golden: write the resolved steps to the golden file instead of comparing.
    #[arg(long, requires = "golden")]
    pub bless: bool,
    /// Answers for the guest's reads, as a JSON object (channel: value); without it every read
    /// is refused.
    #[arg(long, value_name = "FILE.json")]
    pub reads: Option<PathBuf>,
    /// Print a machine-readable report instead of text.
    #[arg(long)]
    pub json: bool,
    /// Keep precompiled components here between runs.
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
}

/// How `validate` ended; `code()` is the process exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Valid,
    Invalid,
    Usage,
}

impl Outcome {
    pub fn code(self) -> u8 {
        match self {
            Outcome::Valid => 0,
            Outcome::Invalid => 1,
            Outcome::Usage => 2,
        }
    }
}

#[derive(Debug, Serialize)]
struct ErrorReport {
    kind: String,
    message: String,
}

#[derive(Debug, Serialize)]
struct GoldenReport {
    path: PathBuf,
    /// `true`: equal; `false`: differs (see `diff`); blessed files are reported as written.
    matched: bool,
    blessed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    diff: Option<String>,
}

/// The `--json` report.
#[derive(Debug, Default, Serialize)]
struct Report {
    valid: bool,
    error: Option<ErrorReport>,
    component: PathBuf,
    digest: Option<String>,
    info: Option<Info>,
    params: Option<Vec<(String, Value)>>,
    steps: Option<Vec<Step>>,
    step_count: Option<usize>,
    fuel: Option<u64>,
    peak_memory_bytes: Option<u64>,
    reads: Option<Vec<(String, Value)>>,
    golden: Option<GoldenReport>,
    log: Option<String>,
}

/// Runs `baton validate`, writing the report to `out`.
pub async fn run(args: &ValidateArgs, out: &mut dyn Write) -> std::io::Result<Outcome> {
    let mut report = Report {
        component: args.component.clone(),
        ..Report::default()
    };
    let outcome = validate(args, &mut report).await;
    let outcome = match outcome {
        Ok(()) => {
            report.valid = true;
            Outcome::Valid
        }
        Err(Stop::Invalid { kind, message }) => {
            report.error = Some(ErrorReport { kind, message });
            Outcome::Invalid
        }
        Err(Stop::Usage(message)) => {
            report.error = Some(ErrorReport {
                kind: "usage".into(),
                message,
            });
            Outcome::Usage
        }
    };
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &report)?;
        writeln!(out)?;
    } else {
        print_text(&report, out)?;
    }
    Ok(outcome)
}

enum Stop {
    Invalid { kind: String, message: String },
    Usage(String),
}

fn invalid(kind: &str, message: impl Into<String>) -> Stop {
    Stop::Invalid {
        kind: kind.into(),
        message: message.into(),
    }
}

fn read_file(path: &Path, what: &str) -> Result<Vec<u8>, Stop> {
    std::fs::read(path)
        .map_err(|e| Stop::Usage(format!("cannot read {what} {}: {e}", path.display())))
}

fn read_json(path: &Path, what: &str) -> Result<serde_json::Value, Stop> {
    let bytes = read_file(path, what)?;
    serde_json::from_slice(&bytes)
        .map_err(|e| Stop::Usage(format!("{what} {} is not valid JSON: {e}", path.display())))
}

/// Reads values for `--reads`: plain numbers are floats (device values), tagged values as given.
fn reads_from_json(json: &serde_json::Value, path: &Path) -> Result<MapReader, Stop> {
    let obj = json.as_object().ok_or_else(|| {
        Stop::Usage(format!(
            "reads file {} must be a JSON object of channel: value",
            path.display()
        ))
    })?;
    let mut values = Vec::with_capacity(obj.len());
    for (channel, v) in obj {
        let kind = v.is_number().then_some(ParamKind::Float);
        let value = value_from_json(v, kind).map_err(|e| {
            Stop::Usage(format!(
                "reads file {}: channel `{channel}`: {e}",
                path.display()
            ))
        })?;
        values.push((channel.clone(), value));
    }
    Ok(MapReader::new(values))
}

async fn validate(args: &ValidateArgs, report: &mut Report) -> Result<(), Stop> {
    // Read every input first, so a usage error never hides behind a component's verdict.
    let wasm = read_file(&args.component, "component")?;
    let params_json = args
        .params
        .as_deref()
        .map(|p| read_json(p, "params file"))
        .transpose()?;
    let reads = match &args.reads {
        Some(p) => Some(reads_from_json(&read_json(p, "reads file")?, p)?),
        None => None,
    };
    let golden: Option<Vec<Step>> = match (&args.golden, args.bless) {
        (Some(p), false) => {
            let json = read_json(p, "golden file")?;
            Some(serde_json::from_value(json).map_err(|e| {
                Stop::Usage(format!(
                    "golden file {} is not a list of steps: {e}",
                    p.display()
                ))
            })?)
        }
        _ => None,
    };

    let sandbox = Sandbox::new(SandboxConfig {
        cache_dir: args.cache_dir.clone(),
        ..SandboxConfig::default()
    })
    .map_err(|e| invalid("internal", e.to_string()))?;

    let component = sandbox.load(&wasm).await.map_err(|e| {
        if let LoadError::Describe(f) = &e {
            report.log = Some(f.log.clone());
        }
        invalid(e.kind(), e.to_string())
    })?;
    report.digest = Some(component.digest().to_string());
    report.info = Some(component.info().clone());

    let given = match &params_json {
        Some(json) => component
            .info()
            .params_from_json(json)
            .map_err(|e| Stop::Usage(format!("params file: {e}")))?,
        None => Vec::new(),
    };
    let params = component.info().with_defaults(&given);
    report.params = Some(params.clone());

    let reader: &dyn ChannelReader = match &reads {
        Some(r) => r,
        None => &NoReads,
    };
    let resolution = match sandbox.resolve(&component, &params, reader).await {
        Ok(r) => r,
        Err(f) => return Err(resolve_failed(f, report)),
    };
    let Resolution {
        steps,
        reads,
        fuel_used,
        peak_memory_bytes,
        log,
        ..
    } = resolution;
    report.step_count = Some(steps.len());
    report.fuel = Some(fuel_used);
    report.peak_memory_bytes = Some(peak_memory_bytes);
    report.reads = Some(reads);
    report.log = Some(log);

    let golden_result = match (&args.golden, golden) {
        (Some(path), _) if args.bless => {
            let mut text = serde_json::to_string_pretty(&steps)
                .map_err(|e| invalid("internal", e.to_string()))?;
            text.push('\n');
            std::fs::write(path, text).map_err(|e| {
                Stop::Usage(format!("cannot write golden file {}: {e}", path.display()))
            })?;
            report.golden = Some(GoldenReport {
                path: path.clone(),
                matched: true,
                blessed: true,
                diff: None,
            });
            Ok(())
        }
        (Some(path), Some(expected)) => {
            let diff = golden_diff(&expected, &steps, 5);
            let matched = diff.is_none();
            report.golden = Some(GoldenReport {
                path: path.clone(),
                matched,
                blessed: false,
                diff: diff.clone(),
            });
            match diff {
                None => Ok(()),
                Some(d) => Err(invalid(
                    "golden_mismatch",
                    format!("the resolved steps differ from {}:\n{d}", path.display()),
                )),
            }
        }
        _ => Ok(()),
    };
    report.steps = Some(steps);
    golden_result
}

fn resolve_failed(f: ResolveFailure, report: &mut Report) -> Stop {
    report.log = Some(f.log);
    report.reads = Some(f.reads);
    report.fuel = f.fuel_used;
    invalid(f.error.kind(), f.error.to_string())
}

/// A readable account of how `actual` differs from `expected`, showing at most `max_shown`
/// differing steps; `None` when they are equal.
pub fn golden_diff(expected: &[Step], actual: &[Step], max_shown: usize) -> Option<String> {
    let differing: Vec<usize> = (0..expected.len().max(actual.len()))
        .filter(|&i| expected.get(i) != actual.get(i))
        .collect();
    if differing.is_empty() {
        return None;
    }
    let show = |s: Option<&Step>| match s {
        Some(s) => serde_json::to_string(s).unwrap_or_else(|e| format!("<{e}>")),
        None => "(no step)".into(),
    };
    let mut text = format!(
        "{} of {} steps differ (first at step {}); golden has {} steps, resolved {}\n",
        differing.len(),
        expected.len().max(actual.len()),
        differing[0],
        expected.len(),
        actual.len()
    );
    for &i in differing.iter().take(max_shown) {
        text.push_str(&format!(
            "  step {i}:\n    golden:   {}\n    resolved: {}\n",
            show(expected.get(i)),
            show(actual.get(i))
        ));
    }
    if differing.len() > max_shown {
        text.push_str(&format!("  … and {} more\n", differing.len() - max_shown));
    }
    Some(text)
}

fn print_text(r: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "component  {}", r.component.display())?;
    if let Some(d) = &r.digest {
        writeln!(out, "digest     sha256:{d}")?;
    }
    if let Some(info) = &r.info {
        writeln!(out, "procedure  {} {}", info.name, info.version)?;
        if !info.doc.is_empty() {
            writeln!(out, "           {}", info.doc)?;
        }
        if info.params.is_empty() {
            writeln!(out, "parameters none")?;
        } else {
            writeln!(out, "parameters")?;
            for p in &info.params {
                let default = p
                    .default
                    .as_ref()
                    .map(|d| format!(" = {}", show_value(d)))
                    .unwrap_or_default();
                writeln!(
                    out,
                    "  {:<16} {:<6}{default}  {}",
                    p.name,
                    p.kind.as_str(),
                    p.doc
                )?;
            }
        }
    }
    if let Some(params) = &r.params {
        let shown: Vec<String> = params
            .iter()
            .map(|(n, v)| format!("{n}={}", show_value(v)))
            .collect();
        writeln!(out, "with       {}", shown.join(" "))?;
    }
    if let Some(steps) = &r.steps {
        let count = |k: StepKind| steps.iter().filter(|s| s.kind() == k).count();
        writeln!(
            out,
            "resolved   {} steps ({} setpoints, {} checks, {} actions)",
            steps.len(),
            count(StepKind::Setpoint),
            count(StepKind::Check),
            count(StepKind::Action)
        )?;
    }
    if let Some(fuel) = r.fuel {
        writeln!(out, "fuel       {fuel}")?;
    }
    if let Some(m) = r.peak_memory_bytes {
        writeln!(
            out,
            "memory     {:.1} MiB peak",
            m as f64 / (1 << 20) as f64
        )?;
    }
    if let Some(reads) = &r.reads {
        for (channel, v) in reads {
            writeln!(out, "read       {channel} = {}", show_value(v))?;
        }
    }
    if let Some(g) = &r.golden {
        if g.blessed {
            writeln!(out, "golden     written to {}", g.path.display())?;
        } else if g.matched {
            writeln!(out, "golden     matches {}", g.path.display())?;
        }
    }
    if let Some(log) = r.log.as_deref().filter(|l| !l.is_empty()) {
        writeln!(out, "log")?;
        for line in log.lines() {
            writeln!(out, "  | {line}")?;
        }
    }
    match &r.error {
        None => writeln!(out, "valid"),
        Some(e) if e.kind == "usage" => writeln!(out, "usage error: {}", e.message),
        Some(e) => writeln!(out, "invalid ({}): {}", e.kind, e.message),
    }
}

fn show_value(v: &Value) -> String {
    match v {
        Value::Float(x) => format!("{x}"),
        Value::Int(i) => format!("{i}"),
        Value::Text(s) => format!("{s:?}"),
        Value::Floats(xs) => format!("{xs:?}"),
        Value::Flag(b) => format!("{b}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::domain::Setpoint;
    use std::sync::Arc;

    fn sp(channel: &str, x: f64) -> Step {
        Step::Setpoint(Setpoint {
            channel: Arc::from(channel),
            value: Value::Float(x),
            readback: None,
            tolerance: None,
            settle_ms: None,
        })
    }

    #[test]
    fn equal_steps_have_no_diff() {
        let a = vec![sp("m", 1.0), sp("m", 2.0)];
        assert_eq!(golden_diff(&a, &a.clone(), 5), None);
    }

    #[test]
    fn the_diff_names_the_first_differing_steps_and_the_lengths() {
        let expected = vec![sp("m", 1.0), sp("m", 2.0), sp("m", 3.0)];
        let actual = vec![sp("m", 1.0), sp("m", 2.5)];
        let d = golden_diff(&expected, &actual, 1).unwrap();
        assert!(
            d.starts_with("2 of 3 steps differ (first at step 1); golden has 3 steps, resolved 2"),
            "{d}"
        );
        assert!(
            d.contains("\"value\":2.0") && d.contains("\"value\":2.5"),
            "{d}"
        );
        assert!(d.contains("… and 1 more"), "{d}");
    }
}
