//! The message catalogue: every user-visible string of the pages, in Azerbaijani, Russian and
//! English, as Fluent resources compiled into the binary (`i18n/{az,ru,en}.ftl`).
//!
//! The language of a request is, in order: `?lang=` (which also sets the `klero_lang` cookie), the
//! `klero_lang` cookie, the best match of `Accept-Language`, English.

use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

/// A language of the portal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// Azərbaycan dili.
    Az,
    /// Русский.
    Ru,
    /// English.
    En,
}

/// Every language, in the order the switch shows them.
pub const LANGUAGES: [Lang; 3] = [Lang::Az, Lang::Ru, Lang::En];

impl Lang {
    /// The BCP 47 code (`az`, `ru`, `en`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::Az => "az",
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }

    /// The language of a code's primary subtag (`ru-RU` is Russian), if the portal has it.
    pub fn parse(code: &str) -> Option<Lang> {
        let primary = code.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        LANGUAGES.into_iter().find(|l| l.code() == primary)
    }

    /// The best language of an `Accept-Language` header: the highest quality the portal has
    /// (ties: the order listed); `None` if it names none of them.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut it = part.split(';');
            let Some(lang) = it.next().and_then(Lang::parse) else {
                continue;
            };
            let q = it
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l)
    }

    fn source(self) -> &'static str {
        match self {
            Lang::Az => include_str!("../../i18n/az.ftl"),
            Lang::Ru => include_str!("../../i18n/ru.ftl"),
            Lang::En => include_str!("../../i18n/en.ftl"),
        }
    }
}

struct Catalogue {
    bundles: Vec<(Lang, FluentBundle<FluentResource>)>,
}

static CATALOGUE: LazyLock<Catalogue> = LazyLock::new(|| Catalogue {
    bundles: LANGUAGES
        .into_iter()
        .map(|l| {
            let res = FluentResource::try_new(l.source().to_owned())
                .unwrap_or_else(|(_, e)| panic!("i18n/{}.ftl does not parse: {e:?}", l.code()));
            let id = l.code().parse().expect("a valid language identifier");
            let mut b = FluentBundle::new_concurrent(vec![id]);
            // Unicode isolation marks are for mixing directions; all three languages are
            // left-to-right, and the marks would end up inside identifiers and attributes.
            b.set_use_isolating(false);
            b.add_resource(res)
                .unwrap_or_else(|e| panic!("i18n/{}.ftl has duplicates: {e:?}", l.code()));
            (l, b)
        })
        .collect(),
});

fn bundle(lang: Lang) -> &'static FluentBundle<FluentResource> {
    &CATALOGUE
        .bundles
        .iter()
        .find(|(l, _)| *l == lang)
        .expect("every language has a bundle")
        .1
}

/// The message `id` in `lang` with `args` (each a name and a text); the id itself if the
/// catalogue lacks it (a test keeps every id present in every language).
pub fn message(lang: Lang, id: &str, args: &[(&str, &str)]) -> String {
    let b = bundle(lang);
    let Some(pattern) = b.get_message(id).and_then(|m| m.value()) else {
        tracing::warn!(id, lang = lang.code(), "missing message");
        return id.to_owned();
    };
    let mut fargs = FluentArgs::new();
    for (k, v) in args {
        fargs.set(*k, FluentValue::from(*v));
    }
    let mut errors = vec![];
    b.format_pattern(pattern, (!args.is_empty()).then_some(&fargs), &mut errors)
        .into_owned()
}

/// Every message id of `lang`'s catalogue.
pub fn message_ids(lang: Lang) -> Vec<String> {
    let res = FluentResource::try_new(lang.source().to_owned()).unwrap_or_else(|(r, _)| r);
    res.entries()
        .filter_map(|e| match e {
            fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_owned()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_id_exists_in_every_language() {
        let en = message_ids(Lang::En);
        assert!(en.len() > 100, "the English catalogue holds {}", en.len());
        for l in LANGUAGES {
            let ids = message_ids(l);
            for id in &en {
                assert!(ids.contains(id), "{} lacks {id}", l.code());
            }
            for id in &ids {
                assert!(
                    en.contains(id),
                    "{} has {id}, which English lacks",
                    l.code()
                );
            }
        }
    }

    #[test]
    fn every_id_the_pages_use_is_in_the_catalogue() {
        let en = message_ids(Lang::En);
        let sources = [
            include_str!("mod.rs"),
            include_str!("public.rs"),
            include_str!("staff.rs"),
        ];
        let mut used = 0;
        for src in sources {
            for quote in [".t(\"", ".ta(\""] {
                for part in src.split(quote).skip(1) {
                    let id = part.split('"').next().unwrap_or_default();
                    if id.is_empty() || id.contains(' ') {
                        continue;
                    }
                    used += 1;
                    assert!(
                        en.contains(&id.to_owned()),
                        "the pages use {id:?}, which is missing"
                    );
                }
            }
        }
        assert!(used > 50, "found only {used} uses");
    }

    #[test]
    fn accept_language_picks_the_best_language_the_portal_has() {
        assert_eq!(
            Lang::from_accept_language("ru-RU,ru;q=0.9,en;q=0.8"),
            Some(Lang::Ru)
        );
        assert_eq!(
            Lang::from_accept_language("de;q=1, az;q=0.5, en;q=0.4"),
            Some(Lang::Az)
        );
        assert_eq!(Lang::from_accept_language("de, fr"), None);
        assert_eq!(
            Lang::from_accept_language("en;q=0, ru;q=0.1"),
            Some(Lang::Ru)
        );
    }

    #[test]
    fn messages_are_formatted_with_their_arguments() {
        assert_eq!(
            message(Lang::En, "case-title", &[("case", "X-1")]),
            "Case X-1"
        );
        assert_eq!(message(Lang::Az, "no-such-id", &[]), "no-such-id");
    }
}
