//! `Accept-Language` negotiation (RFC 9110 §12.5.4) between the two languages we speak.

use super::Lang;

/// The best supported language in an `Accept-Language` value, by q-value and then by order;
/// `None` when nothing in it is supported (a `*` counts as the default language).
pub(super) fn best_match(header: &str) -> Option<Lang> {
    let mut best: Option<(f32, Lang)> = None;
    for item in header.split(',') {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or_default().trim();
        let Some(quality) = quality(parts) else {
            continue;
        };
        if quality <= 0.0 {
            continue;
        }
        let Some(lang) = supported(tag) else { continue };
        // Strictly greater: among equal weights the first listed wins.
        if best.is_none_or(|(q, _)| quality > q) {
            best = Some((quality, lang));
        }
    }
    best.map(|(_, lang)| lang)
}

/// The q-value among an item's parameters: 1 when absent, `None` when malformed.
fn quality<'a>(mut params: impl Iterator<Item = &'a str>) -> Option<f32> {
    let q = params.find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("q")
            .then_some(value.trim())
    });
    match q {
        None => Some(1.0),
        Some(value) => value
            .parse::<f32>()
            .ok()
            .filter(|q| (0.0..=1.0).contains(q)),
    }
}

fn supported(tag: &str) -> Option<Lang> {
    let primary = tag.split('-').next().unwrap_or_default();
    if primary.eq_ignore_ascii_case("tr") {
        Some(Lang::Tr)
    } else if primary.eq_ignore_ascii_case("en") || primary == "*" {
        Some(Lang::En)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiates_by_weight_then_order() {
        let cases = [
            ("tr-TR,tr;q=0.9,en;q=0.8", Some(Lang::Tr)),
            ("en;q=0.1, tr;q=0.9", Some(Lang::Tr)),
            ("de-DE,de;q=0.9,tr;q=0.5,en;q=0.4", Some(Lang::Tr)),
            ("fr", None),
            ("tr;q=0, en", Some(Lang::En)),
            ("TR", Some(Lang::Tr)),
            ("*", Some(Lang::En)),
            ("en-GB, tr", Some(Lang::En)),
            ("tr;q=abc", None),
            ("", None),
        ];
        for (header, expected) in cases {
            assert_eq!(best_match(header), expected, "{header}");
        }
    }
}
