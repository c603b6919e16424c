//! Settings declared once, as data: variable, default, bounds, unit, what it does, and the template parameter
//! that sets it.
//!
//! A function reads its settings through these declarations at init ([`Setting::read_whole`] and the like),
//! and `make generate` (crates/generate) derives the template parameters' constraints and the docs' settings
//! tables from the same values, the way ripgrep derives its parser, `--help` and man page from one definition
//! per flag. A bound changed here changes everywhere on the next `make generate`.

use std::time::Duration;

use crate::config::{self, ConfigError, Env};

/// What a setting holds, with its default and bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text that must be set (an ARN, a URL, a name the template fills in).
    Required,
    /// Text that may be left unset; `unset` says what that means.
    Optional {
        /// What leaving it unset does, for the docs.
        unset: &'static str,
    },
    /// A whole number in `min..=max`.
    Whole {
        /// The value when unset.
        default: u64,
        /// Smallest accepted.
        min: u64,
        /// Largest accepted.
        max: u64,
    },
    /// Seconds, fractions allowed, in `min..=max`.
    Seconds {
        /// The value when unset.
        default: Duration,
        /// Smallest accepted.
        min: Duration,
        /// Largest accepted.
        max: Duration,
    },
    /// `true` or `false`.
    Flag {
        /// The value when unset.
        default: bool,
    },
    /// A comma list of `allowed` values, or `none`.
    List {
        /// What unset means, as the list it stands for.
        default: &'static str,
        /// The values accepted.
        allowed: &'static [&'static str],
    },
}

/// One environment variable a function reads at init.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    /// The environment variable.
    pub variable: &'static str,
    /// Its type, default and bounds.
    pub kind: Kind,
    /// What a number counts (`events`, `bytes`, `days`), for the docs; empty when the name says it.
    pub unit: &'static str,
    /// What it does, in a sentence or two: the docs' table and the template parameter's Description.
    pub doc: &'static str,
    /// The template parameter that sets it, if one does.
    pub parameter: Option<&'static str>,
    /// Narrower bounds the template enforces than the code (`min`, `max`; milliseconds for seconds), when a
    /// deployed stack needs them (SQS's smallest maximum concurrency is 2; an upstream timeout under the
    /// function's) but a local test may go beyond (a budget of 3).
    pub deployed: Option<(u64, u64)>,
}

impl Setting {
    const fn new(variable: &'static str, kind: Kind) -> Self {
        Self {
            variable,
            kind,
            unit: "",
            doc: "",
            parameter: None,
            deployed: None,
        }
    }

    /// Text that must be set.
    pub const fn required(variable: &'static str) -> Self {
        Self::new(variable, Kind::Required)
    }

    /// Text that may be unset; `unset` says what that means.
    pub const fn optional(variable: &'static str, unset: &'static str) -> Self {
        Self::new(variable, Kind::Optional { unset })
    }

    /// A whole number in `min..=max`, `default` when unset.
    pub const fn whole(variable: &'static str, default: u64, min: u64, max: u64) -> Self {
        Self::new(variable, Kind::Whole { default, min, max })
    }

    /// Seconds in `min..=max` (fractions allowed), `default` when unset.
    pub const fn seconds(
        variable: &'static str,
        default: Duration,
        min: Duration,
        max: Duration,
    ) -> Self {
        Self::new(variable, Kind::Seconds { default, min, max })
    }

    /// `true` or `false`, `default` when unset.
    pub const fn flag(variable: &'static str, default: bool) -> Self {
        Self::new(variable, Kind::Flag { default })
    }

    /// A comma list of `allowed` values or `none`; unset means `default`.
    pub const fn list(
        variable: &'static str,
        default: &'static str,
        allowed: &'static [&'static str],
    ) -> Self {
        Self::new(variable, Kind::List { default, allowed })
    }

    /// What it does.
    pub const fn doc(self, doc: &'static str) -> Self {
        Self { doc, ..self }
    }

    /// What a number counts.
    pub const fn unit(self, unit: &'static str) -> Self {
        Self { unit, ..self }
    }

    /// The template parameter that sets it.
    pub const fn parameter(self, parameter: &'static str) -> Self {
        Self {
            parameter: Some(parameter),
            ..self
        }
    }

    /// Bounds the template enforces, narrower than the code's (milliseconds for seconds).
    pub const fn deployed_between(self, min: u64, max: u64) -> Self {
        Self {
            deployed: Some((min, max)),
            ..self
        }
    }

    /// The bounds the template enforces (milliseconds for seconds): [`Self::deployed`], else the code's.
    pub const fn template_bounds(&self) -> Option<(u64, u64)> {
        match (self.deployed, self.kind) {
            (Some(bounds), _) => Some(bounds),
            (None, Kind::Whole { min, max, .. }) => Some((min, max)),
            (None, Kind::Seconds { min, max, .. }) => {
                Some((min.as_millis() as u64, max.as_millis() as u64))
            }
            _ => None,
        }
    }

    /// The largest whole number it takes (0 for other kinds): for bounds other code derives from it.
    pub const fn max_whole(&self) -> u64 {
        match self.kind {
            Kind::Whole { max, .. } => max,
            _ => 0,
        }
    }

    /// The whole number it holds when unset (0 for other kinds).
    pub const fn default_whole(&self) -> u64 {
        match self.kind {
            Kind::Whole { default, .. } => default,
            _ => 0,
        }
    }

    /// A reader that does not match the declaration is a bug; it fails the cold start with a clear message
    /// rather than panicking (every function's settings test reads each declaration once).
    fn misread(&self, wanted: &str) -> ConfigError {
        ConfigError::new(
            self.variable,
            format!(
                "is declared as {:?} but read as {wanted} (a bug)",
                self.kind
            ),
        )
    }

    /// The whole number set, or the default.
    pub fn read_whole(&self, env: &dyn Env) -> Result<u64, ConfigError> {
        match self.kind {
            Kind::Whole { default, min, max } => Ok(config::integer(
                env,
                self.variable,
                default as usize,
                min as usize,
                max as usize,
            )? as u64),
            _ => Err(self.misread("a whole number")),
        }
    }

    /// The duration set, or the default.
    pub fn read_seconds(&self, env: &dyn Env) -> Result<Duration, ConfigError> {
        match self.kind {
            Kind::Seconds { default, min, max } => {
                config::seconds(env, self.variable, default, min, max)
            }
            _ => Err(self.misread("seconds")),
        }
    }

    /// The flag set, or the default.
    pub fn read_flag(&self, env: &dyn Env) -> Result<bool, ConfigError> {
        match self.kind {
            Kind::Flag { default } => config::flag(env, self.variable, default),
            _ => Err(self.misread("a flag")),
        }
    }

    /// The text set; an error naming the variable when unset.
    pub fn read_required(&self, env: &dyn Env) -> Result<String, ConfigError> {
        match self.kind {
            Kind::Required => config::required(env, self.variable),
            _ => Err(self.misread("required text")),
        }
    }

    /// The text set, if any.
    pub fn read_optional(&self, env: &dyn Env) -> Option<String> {
        config::optional(env, self.variable)
    }

    /// The values listed (`Some(vec![])` for `none`), or `None` when unset.
    pub fn read_list(&self, env: &dyn Env) -> Result<Option<Vec<String>>, ConfigError> {
        match self.kind {
            Kind::List { allowed, .. } => config::list_of(env, self.variable, allowed),
            _ => Err(self.misread("a list")),
        }
    }

    /// The default as the docs print it.
    pub fn default_text(&self) -> String {
        match self.kind {
            Kind::Required => "required".to_owned(),
            Kind::Optional { unset } => format!("unset ({unset})"),
            Kind::Whole { default, .. } => default.to_string(),
            Kind::Seconds { default, .. } => seconds_text(default),
            Kind::Flag { default } => default.to_string(),
            Kind::List { default, .. } => default.to_owned(),
        }
    }

    /// The accepted values as the docs print them: `1–1000`, `0.1–60 s`, `true or false`.
    pub fn range_text(&self) -> Option<String> {
        match self.kind {
            Kind::Whole { min, max, .. } => Some(format!("{min}–{max}")),
            Kind::Seconds { min, max, .. } => {
                Some(format!("{}–{} s", seconds_text(min), seconds_text(max)))
            }
            Kind::Flag { .. } => Some("true or false".to_owned()),
            Kind::List { allowed, .. } => {
                Some(format!("a comma list of {}, or none", allowed.join(", ")))
            }
            Kind::Required | Kind::Optional { .. } => None,
        }
    }
}

/// `2.5` for 2.5 s, `10` for 10 s, `0.01` for 10 ms.
pub fn seconds_text(d: Duration) -> String {
    let text = format!("{:.3}", d.as_secs_f64());
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// A retry schedule as a value: the delay before try `n` (1-based) is `base × factor^(n-1)`, at most `cap`,
/// for `attempts` tries. Its delays and total are what the docs print (generated), so a change to any of the
/// four changes every figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// Seconds before the first retry.
    pub base: u32,
    /// What each delay is multiplied by for the next.
    pub factor: u32,
    /// The longest delay, in seconds.
    pub cap: u32,
    /// Tries before giving up.
    pub attempts: u32,
}

impl Schedule {
    /// The delay before try `attempt` (1-based), in seconds.
    pub fn delay(&self, attempt: u32) -> u32 {
        let mut d = self.base.min(self.cap);
        for _ in 1..attempt.max(1) {
            d = d.saturating_mul(self.factor).min(self.cap);
        }
        d
    }

    /// Every delay, in order.
    pub fn delays(&self) -> Vec<u32> {
        (1..=self.attempts).map(|a| self.delay(a)).collect()
    }

    /// Seconds from the first delay to the last try.
    pub fn total(&self) -> u32 {
        self.delays().iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const N: Setting = Setting::whole("N", 5, 1, 9).unit("events").doc("n");

    #[test]
    fn a_declaration_reads_its_variable_within_its_bounds() {
        assert_eq!(N.read_whole(&[("X", "")]).unwrap(), 5);
        assert_eq!(N.read_whole(&[("N", "9")]).unwrap(), 9);
        let e = N.read_whole(&[("N", "10")]).unwrap_err();
        assert_eq!(
            (e.variable.as_str(), e.problem.contains("1 to 9")),
            ("N", true)
        );
        let e = N.read_flag(&[("N", "true")]).unwrap_err();
        assert!(e.problem.contains("a bug"), "{e}");
        assert_eq!(N.range_text().as_deref(), Some("1–9"));
        assert_eq!(N.default_text(), "5");
    }

    #[test]
    fn seconds_print_without_trailing_zeros() {
        assert_eq!(seconds_text(Duration::from_millis(100)), "0.1");
        assert_eq!(seconds_text(Duration::from_millis(10)), "0.01");
        assert_eq!(seconds_text(Duration::from_secs(60)), "60");
        assert_eq!(seconds_text(Duration::from_millis(2500)), "2.5");
    }

    #[test]
    fn a_schedule_doubles_up_to_its_cap() {
        let s = Schedule {
            base: 30,
            factor: 2,
            cap: 900,
            attempts: 5,
        };
        assert_eq!((s.delays(), s.total()), (vec![30, 60, 120, 240, 480], 930));
        let s = Schedule {
            base: 10,
            factor: 2,
            cap: 900,
            attempts: 8,
        };
        assert_eq!(s.delays(), vec![10, 20, 40, 80, 160, 320, 640, 900]);
        assert_eq!(s.total(), 2170);
        assert_eq!(
            Schedule {
                base: 5,
                factor: 3,
                cap: 7,
                attempts: 0
            }
            .total(),
            0
        );
    }
}
