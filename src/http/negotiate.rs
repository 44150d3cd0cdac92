//! `Accept-Encoding` negotiation for `/metrics` (RFC 9110 section 12.5.3): gzip or identity.

/// Whether the answer should be gzipped: gzip (or `x-gzip`, or `*` when gzip is not named) has a
/// q-value above 0 and at least that of identity, where identity weighs what it is given by name
/// or through `*`, and is otherwise only the fallback. A client that accepts neither still gets
/// identity (a scrape body is better than a 406). No header, or an empty one, means identity.
pub fn wants_gzip<'a>(headers: impl IntoIterator<Item = &'a str>) -> bool {
    let (mut gzip, mut identity, mut star) = (None, None, None);
    for item in headers.into_iter().flat_map(|h| h.split(',')) {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        if coding.is_empty() {
            continue;
        }
        let mut q = Some(1.0_f32);
        for param in parts {
            if let Some((k, v)) = param.split_once('=')
                && k.trim().eq_ignore_ascii_case("q")
            {
                // An unreadable q-value makes the entry count for nothing rather than guess.
                q = v
                    .trim()
                    .parse::<f32>()
                    .ok()
                    .filter(|q| (0.0..=1.0).contains(q));
            }
        }
        let Some(q) = q else { continue };
        let slot = match coding.as_str() {
            "gzip" | "x-gzip" => &mut gzip,
            "identity" => &mut identity,
            "*" => &mut star,
            _ => continue,
        };
        // A coding listed twice: the higher weight counts.
        *slot = Some(slot.map_or(q, |old: f32| old.max(q)));
    }
    let gzip = gzip.or(star).unwrap_or(0.0);
    // `*` covers identity too when identity is not named; unnamed, identity is only the fallback.
    let identity = identity.or(star).unwrap_or(0.0);
    gzip > 0.0 && gzip >= identity
}

#[cfg(test)]
mod tests {
    use super::wants_gzip;

    fn gz(header: &str) -> bool {
        wants_gzip([header])
    }

    #[test]
    fn prometheus_and_plain_clients() {
        // What Prometheus (Go's transport) sends.
        assert!(gz("gzip"));
        assert!(!wants_gzip([]));
        assert!(!gz(""));
        assert!(gz("gzip, deflate, br"));
        assert!(gz("GZip"));
        assert!(gz("x-gzip"));
        assert!(!gz("deflate, br, zstd"));
        // Several header lines are one list.
        assert!(wants_gzip(["deflate", "gzip;q=0.5"]));
    }

    #[test]
    fn q_values_identity_and_star() {
        assert!(!gz("gzip;q=0"));
        assert!(!gz("gzip; q=0.000"));
        assert!(gz("gzip;q=0.001"));
        assert!(!gz("gzip;q=0.5, identity"));
        assert!(gz("gzip;q=0.5, identity;q=0.5"));
        assert!(gz("identity;q=0.2, gzip;Q=0.8"));
        assert!(gz("*"));
        assert!(
            gz("*;q=0.3"),
            "* weighs gzip and identity alike: a tie goes to gzip"
        );
        assert!(!gz("*;q=0.3, identity"));
        assert!(!gz("*, gzip;q=0"), "a named coding overrides *");
        assert!(gz("identity;q=0, *;q=0.1"));
        assert!(gz("*;q=0, gzip"));
        // Neither acceptable: identity all the same.
        assert!(!gz("*;q=0"));
        assert!(!gz("identity;q=0"));
        // Unreadable or out-of-range weights count for nothing.
        assert!(!gz("gzip;q=high"));
        assert!(!gz("gzip;q=2"));
        assert!(gz("gzip;q=high, gzip"));
        assert!(gz(" gzip ; q = 1 , identity ; q=0.9 "));
    }
}
