//! Classification rules in one readable place: `rules/classification.toml` (embedded as the
//! default, replaceable with `--rules FILE`). A rule names facts; the first rule that holds gives
//! the proposed class, and the reasons list the rule and the evidence behind each fact.

use serde::Deserialize;
use std::collections::BTreeMap;

/// The embedded default rules.
pub const DEFAULT_RULES: &str = include_str!("../../rules/classification.toml");

/// Facts computed in code (see the TOML's header).
pub const BUILTIN_FACTS: &[&str] = &[
    "research-project",
    "interactive-login",
    "admin-account",
    "service-parent",
    "temp-binary",
    "agent-blind",
    "campaign",
    "host-evidence",
];

/// Classes a rule may propose.
pub const CLASSES: &[&str] = &[
    "active",
    "passive",
    "research",
    "false-positive",
    "undetermined",
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub class: String,
    #[serde(default)]
    pub all: Vec<String>,
    #[serde(default)]
    pub any: Vec<String>,
    #[serde(default)]
    pub none: Vec<String>,
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    #[serde(default)]
    pub keyword_facts: BTreeMap<String, Vec<String>>,
    pub rules: Vec<Rule>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RulesError {
    #[error("{source_name}: {message}")]
    Invalid {
        source_name: String,
        message: String,
    },
}

/// Facts that hold for a case, each with the evidence that made it hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts(pub BTreeMap<String, String>);

impl Facts {
    pub fn set(&mut self, name: &str, why: impl Into<String>) {
        self.0.entry(name.to_string()).or_insert_with(|| why.into());
    }
    pub fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }
}

/// A proposed class with its reasons.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    pub class: String,
    pub reasons: Vec<String>,
}

impl Rules {
    pub fn default_rules() -> Rules {
        // The embedded file is checked by a unit test; fall back to a minimal rule set anyway.
        Rules::parse(DEFAULT_RULES, "embedded rules").unwrap_or(Rules {
            keyword_facts: BTreeMap::new(),
            rules: vec![Rule {
                class: "undetermined".into(),
                all: vec![],
                any: vec![],
                none: vec![],
                reason: "no rules loaded".into(),
            }],
        })
    }

    pub fn parse(text: &str, source_name: &str) -> Result<Rules, RulesError> {
        let err = |message: String| RulesError::Invalid {
            source_name: source_name.to_string(),
            message,
        };
        let rules: Rules = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        if rules.rules.is_empty() {
            return Err(err("no [[rules]]".into()));
        }
        for (i, r) in rules.rules.iter().enumerate() {
            if !CLASSES.contains(&r.class.as_str()) {
                return Err(err(format!(
                    "rule {}: unknown class {:?} (one of {})",
                    i + 1,
                    r.class,
                    CLASSES.join(", ")
                )));
            }
            for f in r.all.iter().chain(&r.any).chain(&r.none) {
                if !BUILTIN_FACTS.contains(&f.as_str()) && !rules.keyword_facts.contains_key(f) {
                    return Err(err(format!("rule {}: unknown fact {f:?}", i + 1)));
                }
            }
        }
        Ok(rules)
    }

    /// Keyword facts that a host finding's detector name and reasons establish.
    pub fn keyword_hits(&self, text: &str) -> Vec<(&str, &str)> {
        let lower = text.to_lowercase();
        let mut out = Vec::new();
        for (fact, words) in &self.keyword_facts {
            if let Some(w) = words.iter().find(|w| lower.contains(&w.to_lowercase())) {
                out.push((fact.as_str(), w.as_str()));
            }
        }
        out
    }

    /// The first rule that holds, with the rule's reason and the evidence of its facts.
    pub fn classify(&self, facts: &Facts) -> Proposal {
        for (i, r) in self.rules.iter().enumerate() {
            let all = r.all.iter().all(|f| facts.has(f));
            let any = r.any.is_empty() || r.any.iter().any(|f| facts.has(f));
            let none = r.none.iter().all(|f| !facts.has(f));
            if all && any && none {
                let mut reasons = vec![format!("rule {} ({}): {}", i + 1, r.class, r.reason)];
                for f in r.all.iter().chain(&r.any) {
                    if let Some(why) = facts.0.get(f) {
                        reasons.push(format!("{f}: {why}"));
                    }
                }
                for (f, why) in &facts.0 {
                    if !r.all.contains(f) && !r.any.contains(f) {
                        reasons.push(format!("also {f}: {why}"));
                    }
                }
                return Proposal {
                    class: r.class.clone(),
                    reasons,
                };
            }
        }
        Proposal {
            class: "undetermined".into(),
            reasons: vec!["no rule matched".into()],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_rules_parse_and_classify() {
        let rules = Rules::parse(DEFAULT_RULES, "embedded").unwrap();
        let mut f = Facts::default();
        f.set("host-evidence", "1 host finding");
        f.set(
            "interactive-login",
            "xmrig started by li.wei via sshd from 10.0.0.8",
        );
        let p = rules.classify(&f);
        assert_eq!(p.class, "active");
        assert!(p.reasons.iter().any(|r| r.contains("li.wei")));
        f.set("research-project", "project GPU-lab approved by dean");
        assert_eq!(rules.classify(&f).class, "research");
        let mut g = Facts::default();
        g.set("host-evidence", "x");
        g.set("service-parent", "xmrig under nginx");
        assert_eq!(rules.classify(&g).class, "passive");
        assert_eq!(rules.classify(&Facts::default()).class, "undetermined");
    }

    #[test]
    fn unknown_facts_and_classes_are_refused() {
        assert!(Rules::parse("[[rules]]\nclass='active'\nall=['nope']\nreason='x'", "t").is_err());
        assert!(Rules::parse("[[rules]]\nclass='evil'\nreason='x'", "t").is_err());
        assert!(Rules::parse("[[rules]]\nclass='active'\nreason='x'\nextra=1", "t").is_err());
    }

    #[test]
    fn keyword_facts_match_case_insensitively() {
        let rules = Rules::default_rules();
        let hits = rules.keyword_hits("Persistence: crontab entry runs /tmp/.x/xmrig");
        assert!(hits.iter().any(|(f, _)| *f == "persistence"));
        assert!(rules.keyword_hits("benign python training job").is_empty());
    }
}
