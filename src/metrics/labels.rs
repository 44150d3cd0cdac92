//! Readable ASCII label values for WeChat's codes (docs/wechat-api.md, "Label codes").
//!
//! Unknown codes pass through as `code_N` so new channels show up instead of vanishing; a missing
//! code is `unknown`.

fn code(c: Option<u64>, known: impl Fn(u64) -> Option<&'static str>) -> String {
    match c {
        None => "unknown".to_string(),
        Some(n) => known(n).map_or_else(|| format!("code_{n}"), str::to_string),
    }
}

/// getusersummary `user_source` (follow channel).
pub fn follower_source(c: Option<u64>) -> String {
    code(c, |n| {
        Some(match n {
            0 => "other",
            1 => "account_search",
            17 => "name_card",
            30 => "qr_code",
            35 => "number_search",
            39 => "account_query",
            43 => "article_menu",
            51 => "after_payment",
            57 => "article_account_name",
            100 => "ads",
            149 => "mini_program",
            161 => "repost",
            176 => "album",
            200 => "channels",
            201 => "live",
            _ => return None,
        })
    })
}

/// getuserread / getuserreadhour `user_source` (read channel). Rows from before the split
/// (2020-02-28) carry no code and hold the all-channel total.
pub fn read_source(c: Option<u64>) -> String {
    match c {
        None => "all".to_string(),
        c => code(c, |n| {
            Some(match n {
                99_999_999 => "all",
                0 => "session",
                1 => "friends",
                2 => "moments",
                3 => "tencent_weibo",
                4 => "history",
                5 => "other",
                6 => "top_stories",
                7 => "search",
                _ => return None,
            })
        }),
    }
}

/// `read_user_source[].scene_desc` of the published-content endpoints (a Chinese string).
pub fn scene_desc(desc: Option<&str>) -> String {
    let Some(desc) = desc else {
        return "unknown".to_string();
    };
    match desc {
        "全部" => "all".to_string(),
        "公众号消息" => "session".to_string(),
        "聊天会话" => "chats".to_string(),
        "朋友圈" => "moments".to_string(),
        "公众号主页" => "home_page".to_string(),
        "其他" => "other".to_string(),
        "推荐" => "recommendation".to_string(),
        "搜一搜" => "search".to_string(),
        other => {
            // Hex keeps the value ASCII and stable, and still distinct per description.
            let mut s = String::with_capacity(6 + other.len() * 2);
            s.push_str("scene_");
            for b in other.as_bytes() {
                s.push_str(&format!("{b:02x}"));
            }
            s
        }
    }
}

/// getusershare / getusersharehour `share_scene`.
pub fn share_scene(c: Option<u64>) -> String {
    code(c, |n| {
        Some(match n {
            1 => "friends",
            2 => "moments",
            3 => "tencent_weibo",
            255 => "other",
            _ => return None,
        })
    })
}

/// Upstream message `msg_type`.
pub fn msg_type(c: Option<u64>) -> String {
    code(c, |n| {
        Some(match n {
            1 => "text",
            2 => "image",
            3 => "voice",
            4 => "video",
            6 => "app_link",
            _ => return None,
        })
    })
}

/// `count_interval` of the distribution endpoints.
pub fn count_interval(c: Option<u64>) -> String {
    code(c, |n| {
        Some(match n {
            0 => "0",
            1 => "1_5",
            2 => "6_10",
            3 => "over_10",
            _ => return None,
        })
    })
}

/// `ref_hour` (0, 100, ..., 2300) as "0".."23".
pub fn hour(c: Option<u64>) -> String {
    match c {
        Some(h) if h % 100 == 0 && h <= 2300 => (h / 100).to_string(),
        other => code(other, |_| None),
    }
}

/// `read_jump_position.position` (fifths of the article).
pub fn exit_position(c: Option<u64>) -> String {
    code(c, |n| {
        Some(match n {
            1 => "0_20",
            2 => "20_40",
            3 => "40_60",
            4 => "60_80",
            5 => "80_100",
            _ => return None,
        })
    })
}

/// getarticletotaldetail `publish_type`.
pub fn publish_type(c: Option<u64>) -> String {
    code(c, |n| {
        Some(match n {
            0 => "notified",
            1 => "not_notified",
            _ => return None,
        })
    })
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
        assert_eq!(read_source(Some(99_999_999)), "all");
        assert_eq!(read_source(None), "all");
        assert_eq!(read_source(Some(7)), "search");
        assert_eq!(read_source(Some(8)), "code_8");
        assert_eq!(share_scene(Some(5)), "code_5");
        assert_eq!(share_scene(Some(255)), "other");
        assert_eq!(msg_type(Some(6)), "app_link");
        assert_eq!(msg_type(Some(5)), "code_5");
        assert_eq!(count_interval(Some(3)), "over_10");
        assert_eq!(exit_position(Some(5)), "80_100");
        assert_eq!(publish_type(Some(1)), "not_notified");
    }

    #[test]
    fn hours_and_scene_descriptions() {
        assert_eq!(hour(Some(0)), "0");
        assert_eq!(hour(Some(1200)), "12");
        assert_eq!(hour(Some(2300)), "23");
        assert_eq!(hour(Some(2400)), "code_2400");
        assert_eq!(hour(Some(1230)), "code_1230");
        assert_eq!(hour(None), "unknown");
        assert_eq!(scene_desc(Some("全部")), "all");
        assert_eq!(scene_desc(Some("搜一搜")), "search");
        assert_eq!(scene_desc(Some("新")), "scene_e696b0");
        assert_eq!(scene_desc(Some("A")), "scene_41");
        assert_eq!(scene_desc(None), "unknown");
    }
}
