//! The console's words in Simplified Chinese and English: one table per language, looked up by
//! key, so a missing translation is a compile-time gap in one place rather than text scattered
//! through the pages.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// From the `mt_lang` cookie, else the Accept-Language header (Chinese first when it leads).
    pub fn pick(cookie: Option<&str>, accept: Option<&str>) -> Lang {
        match cookie {
            Some("zh") => return Lang::Zh,
            Some("en") => return Lang::En,
            _ => {}
        }
        match accept {
            Some(a) if a.trim_start().to_ascii_lowercase().starts_with("zh") => Lang::Zh,
            Some(_) => Lang::En,
            None => Lang::Zh,
        }
    }
}

/// (key, Chinese, English).
const WORDS: &[(&str, &str, &str)] = &[
    ("title", "minetrace 挖矿监测", "minetrace mining monitor"),
    ("overview", "总览", "Overview"),
    ("cases", "案件", "Cases"),
    ("units", "单位", "Units"),
    ("report", "报表 (CSV)", "Report (CSV)"),
    ("logout", "退出", "Log out"),
    ("login", "登录", "Log in"),
    ("user", "用户名", "User name"),
    ("password", "密码", "Password"),
    (
        "login_failed",
        "用户名或密码错误",
        "Wrong user name or password",
    ),
    (
        "login_slow",
        "尝试次数过多，请稍后再试",
        "Too many attempts; try again later",
    ),
    ("cases_total", "案件总数", "Cases"),
    ("by_class", "按性质", "By class"),
    ("by_status", "按状态", "By status"),
    ("by_unit_type", "按单位类型", "By unit type"),
    ("by_coin", "按币种", "By coin"),
    ("trend", "每日新发现案件", "New cases per day"),
    ("energy", "整改可节约", "Rectification would save"),
    ("kwh_day", "千瓦时/日", "kWh/day"),
    ("coal_day", "吨标准煤/日", "t standard coal/day"),
    ("co2_year", "吨二氧化碳/年", "t CO2/year"),
    ("top_units", "案件最多的单位", "Units with most cases"),
    ("recurrences", "复发", "Recurrences"),
    ("status", "状态", "Status"),
    ("class", "性质", "Class"),
    ("proposed", "系统建议", "Proposed"),
    ("unit", "单位", "Unit"),
    ("region", "地区", "Region"),
    ("unit_type", "单位类型", "Unit type"),
    ("host", "主机", "Host"),
    ("address", "地址", "Address"),
    (
        "address_history",
        "地址使用记录（终端代理上报）",
        "Address history (reported by the agent)",
    ),
    ("held_from", "起始", "From"),
    ("held_until", "截止", "Until"),
    ("still_held", "至今", "still held"),
    ("last_reported", "最近上报", "Last reported"),
    ("wallet", "钱包", "Wallet"),
    ("pool", "矿池", "Pool"),
    ("coin", "币种", "Coin"),
    ("process", "进程", "Process"),
    ("account", "账户", "Account"),
    ("last_seen", "最近发现", "Last seen"),
    ("first_seen", "首次发现", "First seen"),
    (
        "search",
        "搜索 IP、钱包、矿工名、矿池、主机、哈希",
        "Search IP, wallet, worker, pool, host, hash",
    ),
    ("attribution", "溯源链", "Attribution chain"),
    ("reasons", "依据", "Reasons"),
    ("flags", "交叉核验", "Cross-checks"),
    ("estimate", "估算", "Estimate"),
    ("hashrate", "算力", "Hashrate"),
    ("power", "功率", "Power"),
    ("legal", "法律情节", "Legal band"),
    ("electricity_loss", "电费损失", "Electricity cost (loss)"),
    (
        "gains_estimated",
        "预计违法所得（挖矿收益）",
        "Estimated gains (mining revenue)",
    ),
    (
        "stats_open",
        "未结案件的能耗、损失与所得",
        "Open cases: energy, loss and gains",
    ),
    ("machines", "机器数", "Machines"),
    ("total", "合计", "Total"),
    ("days_observed", "天（实际观测）", "days (observed)"),
    (
        "days_assumed",
        "天（起始时间不明，按推定）",
        "days (start unknown: assumed)",
    ),
    ("timeline", "时间线", "Timeline"),
    ("evidence", "证据", "Evidence"),
    (
        "download_bundle",
        "下载证据包 (JSON Lines)",
        "Download evidence bundle (JSON Lines)",
    ),
    ("verified", "证据链校验通过", "Evidence chain verifies"),
    (
        "not_verified",
        "证据链校验失败",
        "Evidence chain does NOT verify",
    ),
    ("records", "条记录", "records"),
    ("workflow", "处置", "Workflow"),
    ("assignee", "承办人", "Assignee"),
    ("note", "备注", "Note"),
    ("save", "保存", "Save"),
    ("confidential", "秘密调查", "Confidential investigation"),
    (
        "make_confidential",
        "设为秘密调查（单位不可见）",
        "Make confidential (hidden from the unit)",
    ),
    ("reveal", "公开（检查开始）", "Reveal (inspection starts)"),
    (
        "watch_on",
        "秘密调查中：新案件对单位不可见",
        "Under confidential investigation: new cases hidden from the unit",
    ),
    (
        "watch_off",
        "未在秘密调查",
        "Not under confidential investigation",
    ),
    (
        "watch_start",
        "开始秘密调查",
        "Start confidential investigation",
    ),
    (
        "watch_stop",
        "结束秘密调查",
        "End confidential investigation",
    ),
    ("no_cases", "没有案件", "No cases"),
    ("findings", "发现", "Findings"),
    ("network", "网络", "network"),
    ("host_kind", "主机", "host"),
    ("ranges", "IP 段", "IP ranges"),
    ("forbidden", "无权访问", "Not allowed"),
    ("not_found", "未找到", "Not found"),
    (
        "store",
        "存储出错，请稍后再试",
        "Storage error; try again later",
    ),
    ("read_only", "只读", "read-only"),
    ("recurrence", "复发次数", "Recurrences"),
    (
        "campaign",
        "团伙（同一钱包或同一矿池账户）",
        "Campaign (same wallet or pool account)",
    ),
    ("language", "English", "中文"),
    ("tasks", "自查任务", "Self-inspection"),
    ("task_title", "任务", "Task"),
    ("task_detail", "说明", "Details"),
    ("deadline", "期限", "Deadline"),
    ("answer", "单位答复", "Unit's answer"),
    ("assign", "下达任务", "Assign"),
    ("submit_answer", "提交答复", "Answer"),
    ("overdue", "已逾期", "OVERDUE"),
    ("overdue_tasks", "逾期自查任务", "Overdue self-inspections"),
    ("hosts", "主机", "Hosts"),
    ("owner", "使用人 / 管理员", "Owner / admin"),
    ("admin", "管理员", "Administrator"),
    ("agent", "主机探针", "Agent"),
    ("agent_ok", "在线", "reporting"),
    (
        "agent_silent",
        "静默（可能被关闭或篡改），最后",
        "SILENT (stopped or tampered?), last",
    ),
    ("no_agent", "无探针", "no agent"),
    ("report_html", "报告", "Report"),
    // Case vocabulary.
    ("class.active", "主动挖矿", "Active (insider) mining"),
    (
        "class.passive",
        "被动挖矿（木马）",
        "Passive (trojan) mining",
    ),
    ("class.research", "科研", "Registered research"),
    ("class.false-positive", "误报", "False positive"),
    ("class.none", "待定", "Undetermined"),
    (
        "class.undetermined",
        "待定（需主机证据）",
        "Undetermined (needs host evidence)",
    ),
    ("status.detected", "已发现", "Detected"),
    ("status.investigating", "调查中", "Investigating"),
    ("status.confirmed", "已确认", "Confirmed"),
    ("status.rectifying", "整改中", "Rectifying"),
    ("status.closed", "已关闭", "Closed"),
    ("band.none", "未达情节严重", "Below the serious threshold"),
    ("band.serious", "情节严重", "Serious"),
    (
        "band.especially-serious",
        "情节特别严重",
        "Especially serious",
    ),
    ("role.regulator", "监管人员", "Regulator"),
    ("role.unit_admin", "单位管理员", "Unit administrator"),
    ("role.investigator", "调查人员", "Investigator"),
    ("role.auditor", "审计人员", "Auditor"),
    ("event.case-opened", "立案", "Case opened"),
    ("event.findings-linked", "关联新发现", "Findings linked"),
    (
        "event.case-reopened",
        "复发，重新立案",
        "Reopened (recurrence)",
    ),
    ("event.case-updated", "案件更新", "Case updated"),
    (
        "event.attribution-updated",
        "归属已更新（补充的登记、NAT 或 DHCP 数据）",
        "Attribution updated (late registry, NAT or DHCP data)",
    ),
    (
        "event.findings-reattributed",
        "发现已转入其他案件（补充的登记、NAT 或 DHCP 数据）",
        "Findings moved to other cases (late registry, NAT or DHCP data)",
    ),
];

/// A timeline event's name in `lang`; the stored kind itself when the table does not know it.
pub fn event_label(lang: Lang, kind: &str) -> String {
    let key = format!("event.{kind}");
    let word = t(lang, &key);
    if word == key {
        kind.to_string()
    } else {
        word
    }
}

/// The word for `key` in `lang`; the key itself when it is not in the table (visible in tests).
pub fn t(lang: Lang, key: &str) -> String {
    WORDS
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, zh, en)| match lang {
            Lang::Zh => *zh,
            Lang::En => *en,
        })
        .unwrap_or(key)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_both_languages_are_filled() {
        let mut keys: Vec<&str> = WORDS.iter().map(|w| w.0).collect();
        keys.sort_unstable();
        let n = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), n, "duplicate key");
        assert!(WORDS
            .iter()
            .all(|(_, zh, en)| !zh.is_empty() && !en.is_empty()));
        assert_eq!(t(Lang::Zh, "class.active"), "主动挖矿");
        assert_eq!(t(Lang::En, "band.serious"), "Serious");
        // Every band the estimate can write has its words.
        use minetrace_estimate::legal::LegalBand;
        for b in [
            LegalBand::None,
            LegalBand::Serious,
            LegalBand::EspeciallySerious,
        ] {
            let key = format!(
                "band.{}",
                serde_json::to_value(b).unwrap().as_str().unwrap()
            );
            assert_ne!(t(Lang::Zh, &key), key);
        }
        assert_eq!(t(Lang::Zh, "band.especially-serious"), "情节特别严重");
        // The class names written into Chinese reasons are the console's own.
        for class in crate::service::rules::CLASSES {
            assert_eq!(
                crate::service::rules::class_zh(class),
                t(Lang::Zh, &format!("class.{class}")),
                "{class}"
            );
        }
        assert_eq!(event_label(Lang::Zh, "case-opened"), "立案");
        assert_eq!(event_label(Lang::En, "something-new"), "something-new");
    }

    #[test]
    fn language_choice() {
        assert_eq!(Lang::pick(Some("en"), Some("zh-CN")), Lang::En);
        assert_eq!(Lang::pick(None, Some("zh-CN,zh;q=0.9")), Lang::Zh);
        assert_eq!(Lang::pick(None, Some("en-US,en;q=0.9")), Lang::En);
        assert_eq!(Lang::pick(None, None), Lang::Zh);
    }
}
