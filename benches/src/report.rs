//! The one JSON line a workload prints.
//!
//! Common fields (every workload):
//!
//! | field | meaning |
//! |---|---|
//! | `workload` | the workload's name |
//! | `parties` | computing parties (the dealer is one more thread, not counted) |
//! | `size` | the workload's size parameter |
//! | `wall_s` | wall time of the whole protocol, preprocessing included (see [`crate::harness`]); the fastest of `--reps` runs |
//! | `includes_preprocessing` | always `true`: the dealer runs as its own thread inside `wall_s` |
//! | `wall_s_runs` | every run's wall time (the spread on a shared machine) |
//! | `baseline_s` | one single-thread plaintext run of the same shape, same process |
//! | `ratio` | `wall_s / baseline_s` |
//! | `bytes_per_party` | max over computing parties of bytes sent to other computing parties |
//! | `bytes_each` | the same per party |
//! | `dealer_bytes` | bytes the dealer sent (seeds and corrections) |
//! | `request_bytes` | bytes the parties sent to the dealer (request descriptions) |
//! | `dealer_requests` | preprocessing requests the dealer served |
//! | `rounds` | max over parties of online send phases (session setup included) |
//! | `rounds_each`, `setup_rounds` | per party; rounds already counted when the workload began |
//! | `prep_rounds` | request/response trips to the dealer (the last party's) |
//! | `max_abs_error`, `tolerance`, `ok` | against a plaintext reference from the same run |
//! | `checks` | further named correctness checks, all part of `ok` (when present) |
//! | `targets` | `[{metric, max, value, met}]`: the issue's targets for this workload |
//!
//! | `cores`, `loadavg_1m` | the machine: available cores, 1-minute load average at the end |
//!
//! Workload-specific fields follow `ok`.

use serde_json::{Map, Value};

use crate::harness::Timed;

/// A target from the issue: `metric` must not exceed `max`.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    /// Name of the measured quantity (a field of the report).
    pub metric: &'static str,
    /// The largest acceptable value.
    pub max: f64,
    /// The measured value.
    pub value: f64,
}

impl Target {
    /// Whether the target is met.
    pub fn met(&self) -> bool {
        self.value <= self.max
    }
}

/// The result of one workload run.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// Workload name.
    pub workload: &'static str,
    /// Computing parties.
    pub parties: usize,
    /// Size parameter.
    pub size: usize,
    /// Protocol wall time, preprocessing included (the fastest of `wall_s_runs`).
    pub wall_s: f64,
    /// Every run's wall time, in order.
    pub wall_s_runs: Vec<f64>,
    /// Plaintext single-thread baseline of the same shape.
    pub baseline_s: f64,
    /// What the baseline is.
    pub baseline: &'static str,
    /// Max online bytes sent by one computing party.
    pub bytes_per_party: u64,
    /// Online bytes sent by each computing party.
    pub bytes_each: Vec<u64>,
    /// Bytes sent by the dealer.
    pub dealer_bytes: u64,
    /// Bytes sent to the dealer.
    pub request_bytes: u64,
    /// Preprocessing requests served.
    pub dealer_requests: u64,
    /// Max online rounds.
    pub rounds: u64,
    /// Online rounds of each party.
    pub rounds_each: Vec<u64>,
    /// Max rounds counted before the workload closure started (session setup).
    pub setup_rounds: u64,
    /// Trips to the dealer.
    pub prep_rounds: u64,
    /// Max absolute error against the plaintext reference.
    pub max_abs_error: f64,
    /// The error the workload accepts (a stated bound, not a fit).
    pub tolerance: f64,
    /// Workload-specific fields, in order.
    pub extra: Vec<(&'static str, Value)>,
    /// The issue's targets.
    pub targets: Vec<Target>,
    /// Further correctness checks beyond the error bound (name, passed).
    pub checks: Vec<(&'static str, bool)>,
}

impl Report {
    /// A report from a timed run; errors, extras and targets are filled in by the workload.
    pub fn from_timed<T>(
        workload: &'static str,
        size: usize,
        timed: &Timed<T>,
        baseline_s: f64,
        baseline: &'static str,
    ) -> Self {
        Self {
            workload,
            parties: timed.n(),
            size,
            wall_s: timed.wall_s(),
            wall_s_runs: vec![timed.wall_s()],
            baseline_s,
            baseline,
            bytes_per_party: timed.bytes_per_party(),
            bytes_each: timed.online_bytes(),
            dealer_bytes: timed.dealer_bytes(),
            request_bytes: timed.request_bytes(),
            dealer_requests: timed.dealer.requests,
            rounds: timed.rounds(),
            rounds_each: timed.rounds_each(),
            setup_rounds: timed.setup_rounds.iter().copied().max().unwrap_or(0),
            prep_rounds: timed.prep_rounds(),
            max_abs_error: 0.0,
            tolerance: 0.0,
            extra: Vec::new(),
            targets: Vec::new(),
            checks: Vec::new(),
        }
    }

    /// `wall_s / baseline_s` (infinite if the baseline took no measurable time).
    pub fn ratio(&self) -> f64 {
        if self.baseline_s > 0.0 {
            self.wall_s / self.baseline_s
        } else {
            f64::INFINITY
        }
    }

    /// True if the result is within tolerance of the plaintext reference.
    pub fn ok(&self) -> bool {
        self.max_abs_error.is_finite()
            && self.max_abs_error <= self.tolerance
            && self.checks.iter().all(|&(_, passed)| passed)
    }

    /// True if every target is met.
    pub fn targets_met(&self) -> bool {
        self.targets.iter().all(Target::met)
    }

    /// Records every run's wall time (`wall_s` stays the fastest run's).
    pub fn runs(mut self, walls: Vec<f64>) -> Self {
        self.wall_s_runs = walls;
        self
    }

    /// Adds a workload-specific field.
    pub fn with(mut self, key: &'static str, value: impl Into<Value>) -> Self {
        self.extra.push((key, value.into()));
        self
    }

    /// Adds a correctness check (part of `ok`).
    pub fn check(mut self, name: &'static str, passed: bool) -> Self {
        self.checks.push((name, passed));
        self
    }

    /// Adds a target.
    pub fn target(mut self, metric: &'static str, max: f64, value: f64) -> Self {
        self.targets.push(Target { metric, max, value });
        self
    }

    /// The report as a JSON object, common fields first.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        let mut put = |k: &str, v: Value| {
            m.insert(k.to_owned(), v);
        };
        put("workload", self.workload.into());
        put("parties", self.parties.into());
        put("size", self.size.into());
        put("wall_s", round6(self.wall_s));
        put("includes_preprocessing", true.into());
        put(
            "wall_s_runs",
            Value::Array(self.wall_s_runs.iter().map(|&w| round6(w)).collect()),
        );
        put("baseline_s", round6(self.baseline_s));
        put("baseline", self.baseline.into());
        put("ratio", round6(self.ratio()));
        put("bytes_per_party", self.bytes_per_party.into());
        put("bytes_each", self.bytes_each.clone().into());
        put("dealer_bytes", self.dealer_bytes.into());
        put("request_bytes", self.request_bytes.into());
        put("dealer_requests", self.dealer_requests.into());
        put("rounds", self.rounds.into());
        put("rounds_each", self.rounds_each.clone().into());
        put("setup_rounds", self.setup_rounds.into());
        put("prep_rounds", self.prep_rounds.into());
        put("max_abs_error", Value::from(self.max_abs_error));
        put("tolerance", Value::from(self.tolerance));
        put("ok", self.ok().into());
        if !self.checks.is_empty() {
            let mut c = Map::new();
            for &(k, passed) in &self.checks {
                c.insert(k.to_owned(), passed.into());
            }
            put("checks", Value::Object(c));
        }
        for (k, v) in &self.extra {
            put(k, v.clone());
        }
        let targets: Vec<Value> = self
            .targets
            .iter()
            .map(|t| {
                let mut o = Map::new();
                o.insert("metric".into(), t.metric.into());
                o.insert("max".into(), Value::from(t.max));
                o.insert("value".into(), round6(t.value));
                o.insert("met".into(), t.met().into());
                Value::Object(o)
            })
            .collect();
        put("targets", targets.into());
        put("targets_met", self.targets_met().into());
        Value::Object(m)
    }
}

/// Facts about the machine that explain a number: available cores and, on Linux, the
/// 1-minute load average when the run ended (other work on shared cores slows every party).
pub fn machine_fields() -> Vec<(&'static str, Value)> {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let load = std::fs::read_to_string("/proc/loadavg").ok().and_then(|s| {
        s.split_whitespace()
            .next()
            .and_then(|w| w.parse::<f64>().ok())
    });
    vec![
        ("cores", cores.into()),
        ("loadavg_1m", load.map_or(Value::Null, Value::from)),
    ]
}

/// Six significant decimals are plenty for timings and ratios (keeps the line readable).
pub fn round6(x: f64) -> Value {
    if x.is_finite() {
        Value::from((x * 1e6).round() / 1e6)
    } else {
        Value::Null
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_has_the_common_fields_in_order() {
        let r = Report {
            workload: "X",
            parties: 2,
            size: 10,
            wall_s: 2.0,
            wall_s_runs: vec![2.0],
            baseline_s: 0.5,
            baseline: "b",
            bytes_per_party: 80,
            bytes_each: vec![80, 72],
            dealer_bytes: 100,
            request_bytes: 10,
            dealer_requests: 1,
            rounds: 2,
            rounds_each: vec![2, 2],
            setup_rounds: 1,
            prep_rounds: 1,
            max_abs_error: 1e-5,
            tolerance: 1e-4,
            extra: vec![],
            targets: vec![],
            checks: vec![],
        }
        .with("opening_bytes", 64u64)
        .target("ratio", 8.0, 4.0)
        .target("rounds", 1.0, 2.0);
        let v = r.to_json();
        let s = v.to_string();
        assert!(s.starts_with(r#"{"workload":"X","parties":2,"size":10,"wall_s":2.0"#));
        assert_eq!(v["ratio"], 4.0);
        assert_eq!(v["ok"], true);
        assert_eq!(v["opening_bytes"], 64);
        assert_eq!(v["targets"][0]["met"], true);
        assert_eq!(v["targets"][1]["met"], false);
        assert_eq!(v["targets_met"], false);
        assert_eq!(v["includes_preprocessing"], true);
    }
}
