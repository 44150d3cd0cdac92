//! Readable ASCII label values for WeChat's codes (docs/datacube-api.md, "Label codes").
//!
//! The code tables are data (`CodeTable`): the mappers read them, and docs/metrics.md's "Label
//! values" section is generated from them. Unknown codes pass through as `code_N` so new channels
//! show up instead of vanishing; a missing code is `unknown`.

/// One of WeChat's code spaces and the label values its codes become.
#[derive(Debug, Clone, Copy)]
pub struct CodeTable {
    /// The label and where its codes come from, as docs/metrics.md names them.
    pub doc: &'static str,
    /// (code, label value), in the order docs/metrics.md lists them.
    pub codes: &'static [(u64, &'static str)],
    /// How the values are shown in docs/metrics.md: `code value`, or the value in backticks.
    pub quote_values: bool,
    /// What docs/metrics.md adds after the list.
    pub note: &'static str,
}

impl CodeTable {
    /// The label value of `c`: the table's name, `code_N` when unknown, `unknown` when missing.
    pub fn value(&self, c: Option<u64>) -> String {
        match c {
            None => "unknown".to_string(),
            Some(n) => self
                .codes
                .iter()
                .find(|(code, _)| *code == n)
                .map_or_else(|| format!("code_{n}"), |(_, name)| (*name).to_string()),
        }
    }
}

/// getusersummary `user_source` (follow channel).
pub const FOLLOWER_SOURCE: CodeTable = CodeTable {
    doc: "`source` (followers, getusersummary.user_source)",
    codes: &[
        (0, "other"),
        (1, "account_search"),
        (17, "name_card"),
        (30, "qr_code"),
        (35, "number_search"),
        (39, "account_query"),
        (43, "article_menu"),
        (51, "after_payment"),
        (57, "article_account_name"),
        (100, "ads"),
        (149, "mini_program"),
        (161, "repost"),
        (176, "album"),
        (200, "channels"),
        (201, "live"),
    ],
    quote_values: false,
    note: "",
};

/// getuserread / getuserreadhour `user_source` (read channel): another code space than followers'.
pub const READ_SOURCE: CodeTable = CodeTable {
    doc: "`source` (reads, getuserread/getuserreadhour.user_source)",
    codes: &[
        (0, "session"),
        (1, "friends"),
        (2, "moments"),
        (3, "tencent_weibo"),
        (4, "history"),
        (5, "other"),
        (6, "top_stories"),
        (7, "search"),
    ],
    quote_values: false,
    note: "; 99999999 and rows without user_source (before 2020-02-28) are the all-channel \
           totals, which go to the families without `source`",
};

/// getusershare / getusersharehour `share_scene`.
pub const SHARE_SCENE: CodeTable = CodeTable {
    doc: "`scene` (share_scene)",
    codes: &[
        (1, "friends"),
        (2, "moments"),
        (3, "tencent_weibo"),
        (255, "other"),
    ],
    quote_values: false,
    note: "",
};

/// Upstream message `msg_type`.
pub const MSG_TYPE: CodeTable = CodeTable {
    doc: "`msg_type`",
    codes: &[
        (1, "text"),
        (2, "image"),
        (3, "voice"),
        (4, "video"),
        (6, "app_link"),
    ],
    quote_values: false,
    note: "",
};

/// `count_interval` of the distribution endpoints.
pub const COUNT_INTERVAL: CodeTable = CodeTable {
    doc: "`count_interval`",
    codes: &[(0, "0"), (1, "1_5"), (2, "6_10"), (3, "over_10")],
    quote_values: true,
    note: " messages",
};

/// `read_jump_position.position` (fifths of the article).
pub const EXIT_POSITION: CodeTable = CodeTable {
    doc: "`position`",
    codes: &[
        (1, "0_20"),
        (2, "20_40"),
        (3, "40_60"),
        (4, "60_80"),
        (5, "80_100"),
    ],
    quote_values: true,
    note: " (percent of the article)",
};

/// getarticletotaldetail `publish_type`.
pub const PUBLISH_TYPE: CodeTable = CodeTable {
    doc: "`publish_type`",
    codes: &[(0, "notified"), (1, "not_notified")],
    quote_values: false,
    note: "",
};

/// `read_user_source[].scene_desc` of the published-content endpoints: a Chinese string, not a
/// code.
pub const SCENE_DESC: &[(&str, &str)] = &[
    ("公众号消息", "session"),
    ("聊天会话", "chats"),
    ("朋友圈", "moments"),
    ("公众号主页", "home_page"),
    ("其他", "other"),
    ("推荐", "recommendation"),
    ("搜一搜", "search"),
];

/// getusersummary `user_source` (follow channel).
pub fn follower_source(c: Option<u64>) -> String {
    FOLLOWER_SOURCE.value(c)
}

/// The `user_source` code of getuserread's all-channel row.
const ALL_READ_SOURCES: u64 = 99_999_999;

/// The `scene_desc` of the published-content endpoints' all-channel entry.
pub const ALL_SCENES: &str = "全部";

/// getuserread / getuserreadhour `user_source` (read channel), or `None` for the all-channel
/// total: code 99999999, and rows from before the split (2020-02-28), which carry no code.
pub fn read_source(c: Option<u64>) -> Option<String> {
    match c {
        None | Some(ALL_READ_SOURCES) => None,
        c => Some(READ_SOURCE.value(c)),
    }
}

/// `read_user_source[].scene_desc` of the published-content endpoints (a Chinese string).
pub fn scene_desc(desc: Option<&str>) -> String {
    let Some(desc) = desc else {
        return "unknown".to_string();
    };
    match SCENE_DESC.iter().find(|(d, _)| *d == desc) {
        Some((_, name)) => (*name).to_string(),
        None => {
            // Hex keeps the value ASCII and stable, and still distinct per description.
            let mut s = String::with_capacity(6 + desc.len() * 2);
            s.push_str("scene_");
            for b in desc.as_bytes() {
                s.push_str(&format!("{b:02x}"));
            }
            s
        }
    }
}

/// getusershare / getusersharehour `share_scene`.
pub fn share_scene(c: Option<u64>) -> String {
    SHARE_SCENE.value(c)
}

/// Upstream message `msg_type`.
pub fn msg_type(c: Option<u64>) -> String {
    MSG_TYPE.value(c)
}

/// `count_interval` of the distribution endpoints.
pub fn count_interval(c: Option<u64>) -> String {
    COUNT_INTERVAL.value(c)
}

/// `ref_hour` (0, 100, ..., 2300) as "0".."23".
pub fn hour(c: Option<u64>) -> String {
    match c {
        Some(h) if h % 100 == 0 && h <= 2300 => (h / 100).to_string(),
        None => "unknown".to_string(),
        Some(n) => format!("code_{n}"),
    }
}

/// `read_jump_position.position` (fifths of the article).
pub fn exit_position(c: Option<u64>) -> String {
    EXIT_POSITION.value(c)
}

/// getarticletotaldetail `publish_type`.
pub fn publish_type(c: Option<u64>) -> String {
    PUBLISH_TYPE.value(c)
}

/// The "Label values" section of docs/metrics.md, generated from the tables above.
pub fn labels_markdown() -> String {
    let list = |t: &CodeTable| -> String {
        let items: Vec<String> = t
            .codes
            .iter()
            .map(|(c, v)| {
                if t.quote_values {
                    format!("{c} `{v}`")
                } else {
                    format!("{c} {v}")
                }
            })
            .collect();
        format!("- {}: {}{}.\n", t.doc, items.join(", "), t.note)
    };
    let scenes: Vec<String> = SCENE_DESC.iter().map(|(d, v)| format!("{d} {v}")).collect();
    let mut out = String::from(
        "\n## Label values\n\nUnknown codes pass through as `code_N` and are never dropped; a \
         missing code is `unknown`.\n\n",
    );
    out.push_str(&list(&FOLLOWER_SOURCE));
    out.push_str(&list(&READ_SOURCE));
    out.push_str(&format!(
        "- `source` (published content, read_user_source.scene_desc): {}; an unknown description \
         becomes `scene_` + the lowercase hex of its UTF-8 bytes; {ALL_SCENES} (all channels) goes \
         to the families without `source`.\n",
        scenes.join(", ")
    ));
    // Not codes: getarticletotal names the channel in the field (int_page_from_{source}_...).
    out.push_str(
        "- `source` (getarticletotal): session, history, moments (feed), friends, other, \
         top_stories (kanyikan), search (souyisou) (the all-channel int_page_read_* go to the \
         families without `source`); for Moments shares: session, moments, other.\n",
    );
    out.push_str(&list(&SHARE_SCENE));
    out.push_str(&list(&MSG_TYPE));
    out.push_str(&list(&COUNT_INTERVAL));
    out.push_str("- `hour`: `0`..`23` (ref_hour / 100).\n");
    out.push_str(&list(&EXIT_POSITION));
    out.push_str(&list(&PUBLISH_TYPE));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_unknown_and_missing_codes() {
        assert_eq!(follower_source(Some(30)), "qr_code");
        assert_eq!(follower_source(Some(0)), "other");
        assert_eq!(follower_source(Some(999)), "code_999");
        assert_eq!(follower_source(None), "unknown");
        assert_eq!(read_source(Some(99_999_999)), None);
        assert_eq!(read_source(None), None);
        assert_eq!(read_source(Some(7)).as_deref(), Some("search"));
        assert_eq!(read_source(Some(8)).as_deref(), Some("code_8"));
        assert_eq!(share_scene(Some(5)), "code_5");
        assert_eq!(share_scene(Some(255)), "other");
        assert_eq!(msg_type(Some(6)), "app_link");
        assert_eq!(msg_type(Some(5)), "code_5");
        assert_eq!(count_interval(Some(3)), "over_10");
        assert_eq!(exit_position(Some(5)), "80_100");
        assert_eq!(publish_type(Some(1)), "not_notified");
    }

    #[test]
    fn the_docs_list_every_table() {
        let doc = labels_markdown();
        for t in [
            FOLLOWER_SOURCE,
            READ_SOURCE,
            SHARE_SCENE,
            MSG_TYPE,
            COUNT_INTERVAL,
            EXIT_POSITION,
            PUBLISH_TYPE,
        ] {
            assert!(doc.contains(t.doc), "{}", t.doc);
        }
        assert!(doc.contains("30 qr_code, 35 number_search"));
        assert!(doc.contains("3 `over_10` messages."));
        assert!(doc.contains("朋友圈 moments"));
    }

    #[test]
    fn hours_and_scene_descriptions() {
        assert_eq!(hour(Some(0)), "0");
        assert_eq!(hour(Some(1200)), "12");
        assert_eq!(hour(Some(2300)), "23");
        assert_eq!(hour(Some(2400)), "code_2400");
        assert_eq!(hour(Some(1230)), "code_1230");
        assert_eq!(hour(None), "unknown");
        assert_eq!(scene_desc(Some("公众号消息")), "session");
        assert_eq!(scene_desc(Some("搜一搜")), "search");
        assert_eq!(scene_desc(Some("新")), "scene_e696b0");
        assert_eq!(scene_desc(Some("A")), "scene_41");
        assert_eq!(scene_desc(None), "unknown");
    }
}
