//! Accept-Language → language name, the way p0f prints it.

use crate::Message;

/// The value p0f prints in the `lang` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Language {
    /// No Accept-Language value, a value not shaped like a two-letter code,
    /// or a response: printed `none`.
    None,
    /// A two-letter code that is not in the table (for example `EN`, since the
    /// lookup is case-sensitive): printed `???`. The host's stored language
    /// is not updated.
    Unknown,
    /// The English name of a recognised ISO 639-1 code.
    Known(&'static str),
}

impl Language {
    /// The text of the `lang` field.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::None => "none",
            Language::Unknown => "???",
            Language::Known(name) => name,
        }
    }

    /// The name to store on the client host (only recognised codes are kept).
    pub fn name(self) -> Option<&'static str> {
        match self {
            Language::Known(name) => Some(name),
            _ => None,
        }
    }
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Classifies a message's Accept-Language value.
///
/// The first two bytes must be ASCII letters and the third must not be one
/// (or the value ends there); that exact pair is then looked up, lowercase
/// only, in p0f's 185-entry ISO 639-1 table. Responses never carry a language.
pub fn language(msg: &Message) -> Language {
    if !msg.request {
        return Language::None;
    }
    match &msg.lang {
        Some(v) => classify(v),
        None => Language::None,
    }
}

/// The same rule applied to a raw Accept-Language value.
pub fn classify(value: &[u8]) -> Language {
    let at = |i: usize| value.get(i).copied().unwrap_or(0);
    let (b0, b1, b2) = (at(0), at(1), at(2));
    if !(b0.is_ascii_alphabetic() && b1.is_ascii_alphabetic() && !b2.is_ascii_alphabetic()) {
        return Language::None;
    }
    match TABLE.binary_search_by(|(code, _)| code.as_bytes().cmp(&[b0, b1][..])) {
        Ok(i) => Language::Known(TABLE[i].1),
        Err(_) => Language::Unknown,
    }
}

/// ISO 639-1 codes and the names p0f 3.09b prints, sorted by code.
const TABLE: [(&str, &str); 185] = [
    ("aa", "Afar"),
    ("ab", "Abkhazian"),
    ("ae", "Avestan"),
    ("af", "Afrikaans"),
    ("ak", "Akan"),
    ("am", "Amharic"),
    ("an", "Aragonese"),
    ("ar", "Arabic"),
    ("as", "Assamese"),
    ("av", "Avaric"),
    ("ay", "Aymara"),
    ("az", "Azerbaijani"),
    ("ba", "Bashkir"),
    ("be", "Belarusian"),
    ("bg", "Bulgarian"),
    ("bh", "Bihari"),
    ("bi", "Bislama"),
    ("bm", "Bambara"),
    ("bn", "Bengali"),
    ("bo", "Tibetan"),
    ("br", "Breton"),
    ("bs", "Bosnian"),
    ("ca", "Catalan"),
    ("ce", "Chechen"),
    ("ch", "Chamorro"),
    ("co", "Corsican"),
    ("cr", "Cree"),
    ("cs", "Czech"),
    ("cu", "Church Slavic"),
    ("cv", "Chuvash"),
    ("cy", "Welsh"),
    ("da", "Danish"),
    ("de", "German"),
    ("dv", "Dhivehi"),
    ("dz", "Dzongkha"),
    ("ee", "Ewe"),
    ("el", "Modern Greek"),
    ("en", "English"),
    ("eo", "Esperanto"),
    ("es", "Spanish"),
    ("et", "Estonian"),
    ("eu", "Basque"),
    ("fa", "Persian"),
    ("ff", "Fulah"),
    ("fi", "Finnish"),
    ("fj", "Fijian"),
    ("fo", "Faroese"),
    ("fr", "French"),
    ("fy", "Western Frisian"),
    ("ga", "Irish"),
    ("gd", "Scottish Gaelic"),
    ("gl", "Galician"),
    ("gn", "Guarani"),
    ("gu", "Gujarati"),
    ("gv", "Manx"),
    ("ha", "Hausa"),
    ("he", "Hebrew"),
    ("hi", "Hindi"),
    ("ho", "Hiri Motu"),
    ("hr", "Croatian"),
    ("ht", "Haitian"),
    ("hu", "Hungarian"),
    ("hy", "Armenian"),
    ("hz", "Herero"),
    ("ia", "Interlingua"),
    ("id", "Indonesian"),
    ("ie", "Interlingue"),
    ("ig", "Igbo"),
    ("ii", "Sichuan Yi"),
    ("ik", "Inupiaq"),
    ("io", "Ido"),
    ("is", "Icelandic"),
    ("it", "Italian"),
    ("iu", "Inuktitut"),
    ("ja", "Japanese"),
    ("jv", "Javanese"),
    ("ka", "Georgian"),
    ("kg", "Kongo"),
    ("ki", "Kikuyu"),
    ("kj", "Kuanyama"),
    ("kk", "Kazakh"),
    ("kl", "Kalaallisut"),
    ("km", "Central Khmer"),
    ("kn", "Kannada"),
    ("ko", "Korean"),
    ("kr", "Kanuri"),
    ("ks", "Kashmiri"),
    ("ku", "Kurdish"),
    ("kv", "Komi"),
    ("kw", "Cornish"),
    ("ky", "Kirghiz"),
    ("la", "Latin"),
    ("lb", "Luxembourgish"),
    ("lg", "Ganda"),
    ("li", "Limburgan"),
    ("ln", "Lingala"),
    ("lo", "Lao"),
    ("lt", "Lithuanian"),
    ("lu", "Luba-Katanga"),
    ("lv", "Latvian"),
    ("mg", "Malagasy"),
    ("mh", "Marshallese"),
    ("mi", "Maori"),
    ("mk", "Macedonian"),
    ("ml", "Malayalam"),
    ("mn", "Mongolian"),
    ("mr", "Marathi"),
    ("ms", "Malay"),
    ("mt", "Maltese"),
    ("my", "Burmese"),
    ("na", "Nauru"),
    ("nb", "Norwegian Bokmal"),
    ("nd", "North Ndebele"),
    ("ne", "Nepali"),
    ("ng", "Ndonga"),
    ("nl", "Dutch"),
    ("nn", "Norwegian Nynorsk"),
    ("no", "Norwegian"),
    ("nr", "South Ndebele"),
    ("nv", "Navajo"),
    ("ny", "Nyanja"),
    ("oc", "Occitan"),
    ("oj", "Ojibwa"),
    ("om", "Oromo"),
    ("or", "Oriya"),
    ("os", "Ossetian"),
    ("pa", "Panjabi"),
    ("pi", "Pali"),
    ("pl", "Polish"),
    ("ps", "Pushto"),
    ("pt", "Portuguese"),
    ("qu", "Quechua"),
    ("rm", "Romansh"),
    ("rn", "Rundi"),
    ("ro", "Romanian"),
    ("ru", "Russian"),
    ("rw", "Kinyarwanda"),
    ("sa", "Sanskrit"),
    ("sc", "Sardinian"),
    ("sd", "Sindhi"),
    ("se", "Northern Sami"),
    ("sg", "Sango"),
    ("sh", "Serbo-Croatian"),
    ("si", "Sinhala"),
    ("sk", "Slovak"),
    ("sl", "Slovenian"),
    ("sm", "Samoan"),
    ("sn", "Shona"),
    ("so", "Somali"),
    ("sq", "Albanian"),
    ("sr", "Serbian"),
    ("ss", "Swati"),
    ("st", "Southern Sotho"),
    ("su", "Sundanese"),
    ("sv", "Swedish"),
    ("sw", "Swahili"),
    ("ta", "Tamil"),
    ("te", "Telugu"),
    ("tg", "Tajik"),
    ("th", "Thai"),
    ("ti", "Tigrinya"),
    ("tk", "Turkmen"),
    ("tl", "Tagalog"),
    ("tn", "Tswana"),
    ("to", "Tonga"),
    ("tr", "Turkish"),
    ("ts", "Tsonga"),
    ("tt", "Tatar"),
    ("tw", "Twi"),
    ("ty", "Tahitian"),
    ("ug", "Uighur"),
    ("uk", "Ukrainian"),
    ("ur", "Urdu"),
    ("uz", "Uzbek"),
    ("ve", "Venda"),
    ("vi", "Vietnamese"),
    ("vo", "Volapuk"),
    ("wa", "Walloon"),
    ("wo", "Wolof"),
    ("xh", "Xhosa"),
    ("yi", "Yiddish"),
    ("yo", "Yoruba"),
    ("za", "Zhuang"),
    ("zh", "Chinese"),
    ("zu", "Zulu"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        assert!(TABLE.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(TABLE
            .iter()
            .all(|(c, _)| c.len() == 2 && c.bytes().all(|b| b.is_ascii_lowercase())));
    }

    #[test]
    fn shapes() {
        assert_eq!(classify(b"de-DE,de;q=0.9"), Language::Known("German"));
        assert_eq!(classify(b"en"), Language::Known("English"));
        assert_eq!(classify(b"en-US"), Language::Known("English"));
        assert_eq!(classify(b"EN"), Language::Unknown);
        assert_eq!(classify(b"De"), Language::Unknown);
        assert_eq!(classify(b"xx;q=1"), Language::Unknown);
        assert_eq!(classify(b"eng"), Language::None);
        assert_eq!(classify(b"e"), Language::None);
        assert_eq!(classify(b""), Language::None);
        assert_eq!(classify(b"*"), Language::None);
        assert_eq!(classify(b"1e"), Language::None);
        assert_eq!(classify(b"fr\xe9"), Language::Known("French"));
        assert_eq!(Language::Unknown.as_str(), "???");
        assert_eq!(Language::None.as_str(), "none");
    }
}
