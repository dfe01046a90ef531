//! The results: each figure beside its limit (measured in the same run) and its
//! target (BRIEF.md), printed as a table and written as JSON.

use serde_json::{json, Value};

/// Which way a target points.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    AtLeast(f64),
    AtMost(f64),
}

impl Target {
    fn met(self, value: f64) -> bool {
        match self {
            Target::AtLeast(t) => value >= t,
            Target::AtMost(t) => value <= t,
        }
    }

    fn text(self) -> String {
        match self {
            Target::AtLeast(t) => format!(">= {}", number(t)),
            Target::AtMost(t) => format!("<= {}", number(t)),
        }
    }
}

/// One measured figure.
#[derive(Clone, Debug)]
pub struct Figure {
    pub id: String,
    pub name: String,
    pub unit: String,
    /// The median of `runs`.
    pub value: f64,
    pub runs: Vec<f64>,
    /// What bounds this figure, measured in the same run: a name and a value in the
    /// figure's unit.
    pub limit: Option<(String, f64)>,
    /// Other bounds of the same figure, measured in the same run, each printed on a
    /// line of its own below the figure (the home timeline's ceiling is HTTP's, and
    /// the database's is its page's queries alone).
    pub more_limits: Vec<(String, f64)>,
    pub target: Option<Target>,
}

impl Figure {
    pub fn new(id: &str, name: &str, unit: &str, runs: Vec<f64>) -> Figure {
        Figure {
            id: id.into(),
            name: name.into(),
            unit: unit.into(),
            value: crate::load::median(&runs),
            runs,
            limit: None,
            more_limits: Vec::new(),
            target: None,
        }
    }

    pub fn limit(mut self, name: &str, value: f64) -> Figure {
        self.limit = Some((name.into(), value));
        self
    }

    /// Another limit of the figure, beside [`Figure::limit`].
    pub fn also_limit(mut self, name: &str, value: f64) -> Figure {
        self.more_limits.push((name.into(), value));
        self
    }

    pub fn target(mut self, target: Target) -> Figure {
        self.target = Some(target);
        self
    }

    /// The figure over its limit (for a time, more than 1 is slower than the limit;
    /// for a rate, less than 1 is below it).
    pub fn ratio_to_limit(&self) -> Option<f64> {
        self.limit
            .as_ref()
            .filter(|(_, l)| *l > 0.0)
            .map(|(_, l)| self.value / l)
    }

    /// Sane: finite and above zero, as is each of `more_limits` (a limit that came
    /// out zero would make the ratio beside it meaningless).
    pub fn sane(&self) -> bool {
        let positive = |v: f64| v.is_finite() && v > 0.0;
        positive(self.value) && self.more_limits.iter().all(|(_, v)| positive(*v))
    }

    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "unit": self.unit,
            "value": self.value,
            "runs": self.runs,
            "limit": self.limit.as_ref().map(|(n, v)| json!({"name": n, "value": v})),
            "ratio_to_limit": self.ratio_to_limit(),
            "more_limits": self.more_limits.iter().map(|(n, v)| json!({
                "name": n,
                "value": v,
                "ratio_to_limit": (*v > 0.0).then(|| self.value / v),
            })).collect::<Vec<_>>(),
            "target": self.target.map(|t| match t {
                Target::AtLeast(v) => json!({"at_least": v}),
                Target::AtMost(v) => json!({"at_most": v}),
            }),
            "ratio_to_target": self.target.map(|t| match t {
                Target::AtLeast(v) | Target::AtMost(v) => self.value / v,
            }),
            "meets_target": self.target.map(|t| t.met(self.value)),
        })
    }
}

/// A number with a sensible number of digits.
pub fn number(v: f64) -> String {
    let a = v.abs();
    if a >= 1000.0 {
        let n = v.round() as i64;
        let s = n.abs().to_string();
        // Digits in groups of three from the right, the first group possibly shorter.
        let first = s.len() % 3;
        let mut out = s[..first].to_owned();
        for group in s.as_bytes()[first..].chunks(3) {
            if !out.is_empty() {
                out.push(',');
            }
            out.push_str(std::str::from_utf8(group).unwrap_or_default());
        }
        if n < 0 {
            format!("-{out}")
        } else {
            out
        }
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// Prints the table.
pub fn print_table(figures: &[Figure]) {
    println!();
    println!(
        "{:<44} {:>12} {:<6} {:>12}  {:<40} {:>7}  {:>10} {:>5}",
        "figure", "value", "unit", "limit", "limit is", "ratio", "target", "met"
    );
    println!("{}", "-".repeat(150));
    for f in figures {
        let (limit, limit_name) = match &f.limit {
            Some((n, v)) => (number(*v), n.clone()),
            None => ("-".into(), String::new()),
        };
        let ratio = f
            .ratio_to_limit()
            .map(|r| format!("{r:.2}"))
            .unwrap_or_else(|| "-".into());
        let (target, met) = match f.target {
            Some(t) => (t.text(), if t.met(f.value) { "yes" } else { "NO" }),
            None => ("-".into(), ""),
        };
        println!(
            "{:<44} {:>12} {:<6} {:>12}  {:<40} {:>7}  {:>10} {:>5}",
            f.name,
            number(f.value),
            f.unit,
            limit,
            limit_name,
            ratio,
            target,
            met
        );
        for (name, value) in &f.more_limits {
            let ratio = if *value > 0.0 {
                format!("{:.2}", f.value / value)
            } else {
                "-".into()
            };
            println!(
                "{:<44} {:>12} {:<6} {:>12}  {:<40} {:>7}",
                "  and its other limit",
                "",
                "",
                number(*value),
                name,
                ratio
            );
        }
    }
    println!();
}

/// The whole report as JSON.
pub fn to_json(figures: &[Figure], context: Value) -> Value {
    json!({
        "context": context,
        "figures": figures.iter().map(Figure::to_json).collect::<Vec<_>>(),
    })
}
