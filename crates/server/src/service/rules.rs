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
    "outside-login",
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
    /// The reason in Simplified Chinese (the English one is shown where it is missing).
    #[serde(default)]
    pub reason_zh: Option<String>,
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

/// A sentence the server writes into a case, in English and Simplified Chinese (the names,
/// paths and addresses in it are the same in both).
#[derive(Debug, Clone, PartialEq)]
pub struct Said {
    pub en: String,
    pub zh: String,
}

impl Said {
    pub fn new(en: impl Into<String>, zh: impl Into<String>) -> Said {
        Said {
            en: en.into(),
            zh: zh.into(),
        }
    }

    /// The English of a list and the Chinese of it, in the same order.
    pub fn split(list: Vec<Said>) -> (Vec<String>, Vec<String>) {
        list.into_iter().map(|s| (s.en, s.zh)).unzip()
    }
}

/// Facts that hold for a case, each with the evidence that made it hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts(pub BTreeMap<String, Said>);

impl Facts {
    pub fn set(&mut self, name: &str, why: Said) {
        self.0.entry(name.to_string()).or_insert(why);
    }
    pub fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }
}

/// A fact's name as a Chinese reader sees it (a keyword fact of a custom rules file keeps its
/// own name).
pub fn fact_zh(name: &str) -> &str {
    match name {
        "research-project" => "登记的科研项目",
        "interactive-login" => "交互式登录",
        "outside-login" => "来自单位外部的登录",
        "admin-account" => "管理员账户",
        "service-parent" => "由网络服务派生",
        "temp-binary" => "临时目录中的程序",
        "agent-blind" => "主机代理失明",
        "campaign" => "团伙",
        "host-evidence" => "主机证据",
        "persistence" => "持久化",
        "tampering" => "篡改痕迹",
        "known-malware" => "已知恶意程序",
        "competitor-killing" => "清除其他挖矿程序",
        other => other,
    }
}

/// A class's name in Chinese, as the console's word table has it (a test keeps them equal).
pub fn class_zh(class: &str) -> &str {
    match class {
        "active" => "主动挖矿",
        "passive" => "被动挖矿（木马）",
        "research" => "科研",
        "false-positive" => "误报",
        "undetermined" => "待定（需主机证据）",
        other => other,
    }
}

/// A proposed class with its reasons (in English and, in the same order, Chinese).
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    pub class: String,
    pub reasons: Vec<String>,
    pub reasons_zh: Vec<String>,
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
                reason_zh: Some("未加载任何规则".into()),
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
                let mut reasons = vec![Said::new(
                    format!("rule {} ({}): {}", i + 1, r.class, r.reason),
                    format!(
                        "规则 {}，{}：{}",
                        i + 1,
                        class_zh(&r.class),
                        r.reason_zh.as_deref().unwrap_or(&r.reason)
                    ),
                )];
                for f in r.all.iter().chain(&r.any) {
                    if let Some(why) = facts.0.get(f) {
                        reasons.push(Said::new(
                            format!("{f}: {}", why.en),
                            format!("{}：{}", fact_zh(f), why.zh),
                        ));
                    }
                }
                for (f, why) in &facts.0 {
                    if !r.all.contains(f) && !r.any.contains(f) {
                        reasons.push(Said::new(
                            format!("also {f}: {}", why.en),
                            format!("另有{}：{}", fact_zh(f), why.zh),
                        ));
                    }
                }
                let (reasons, reasons_zh) = Said::split(reasons);
                return Proposal {
                    class: r.class.clone(),
                    reasons,
                    reasons_zh,
                };
            }
        }
        Proposal {
            class: "undetermined".into(),
            reasons: vec!["no rule matched".into()],
            reasons_zh: vec!["没有规则适用".into()],
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
        f.set(
            "host-evidence",
            Said::new("1 host finding", "1 host finding"),
        );
        f.set(
            "interactive-login",
            Said::new(
                "xmrig started by li.wei via sshd from 10.0.0.8",
                "xmrig 由 li.wei 经 sshd 从 10.0.0.8 启动",
            ),
        );
        let p = rules.classify(&f);
        assert_eq!(p.class, "active");
        assert!(p.reasons.iter().any(|r| r.contains("li.wei")));
        // The same reasons in Chinese, line for line.
        assert_eq!(p.reasons.len(), p.reasons_zh.len());
        assert!(
            p.reasons_zh[0].starts_with("规则 3，主动挖矿："),
            "{:?}",
            p.reasons_zh
        );
        assert!(p.reasons_zh[0].contains("登录会话"), "{:?}", p.reasons_zh);
        assert!(
            p.reasons_zh[1].starts_with("交互式登录："),
            "{:?}",
            p.reasons_zh
        );
        f.set(
            "research-project",
            Said::new(
                "project GPU-lab approved by dean",
                "project GPU-lab approved by dean",
            ),
        );
        assert_eq!(rules.classify(&f).class, "research");
        let mut g = Facts::default();
        g.set("host-evidence", Said::new("x", "x"));
        g.set(
            "service-parent",
            Said::new("xmrig under nginx", "xmrig under nginx"),
        );
        assert_eq!(rules.classify(&g).class, "passive");
        assert_eq!(rules.classify(&Facts::default()).class, "undetermined");
    }

    #[test]
    fn every_embedded_rule_has_its_chinese_reason() {
        let rules = Rules::parse(DEFAULT_RULES, "embedded").unwrap();
        for (i, r) in rules.rules.iter().enumerate() {
            let zh = r.reason_zh.as_deref().unwrap_or_default();
            assert!(
                zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "rule {}: {zh:?}",
                i + 1
            );
        }
        for fact in BUILTIN_FACTS
            .iter()
            .copied()
            .chain(rules.keyword_facts.keys().map(String::as_str))
        {
            assert_ne!(fact_zh(fact), fact, "{fact}");
        }
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
