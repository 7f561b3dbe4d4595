//! Similarity of two stems, forgiving the slips a speech recogniser makes.

/// Similarity in 0..1 between two stems, tuned for speech-recognition
/// slips ("propity"/"property", "ambulence"/"ambulance", "wifey"/"wifi").
///
/// Words shorter than four letters are never fuzzy-matched because almost
/// every short word is one edit away from another real word. The first
/// letter must agree: Whisper rarely gets the onset of a word wrong, and the
/// rule removes a large class of false friends.
pub(crate) fn fuzzy_similarity(a: &str, b: &str) -> f32 {
    if a == b {
        return 1.0;
    }
    let (la, lb) = (a.chars().count(), b.chars().count());
    if la < 4 || lb < 4 || a.chars().next() != b.chars().next() {
        return 0.0;
    }
    let spelled = spelling_similarity(a, b);
    let (ka, kb) = (sound_key(a), sound_key(b));
    // Same sound but different spelling is a likely mishearing, yet still
    // less certain than the exact word, hence the discount.
    let sounded = if ka.chars().next() == kb.chars().next() {
        SOUND_DISCOUNT * spelling_similarity(&ka, &kb)
    } else {
        0.0
    };
    spelled.max(sounded)
}

/// Weight of a match found only through [`sound_key`].
const SOUND_DISCOUNT: f32 = 0.95;

fn spelling_similarity(a: &str, b: &str) -> f32 {
    let jaro = strsim::jaro_winkler(a, b);
    let edit = strsim::normalized_damerau_levenshtein(a, b);
    // Jaro-Winkler rewards a shared beginning, edit distance rewards an
    // overall close spelling; ASR slips usually satisfy both.
    ((jaro + edit) / 2.0) as f32
}

/// Crude English sound key: spellings Whisper confuses map to one form
/// ("wifey" and "wifi" → "wifi", "fone" and "phone" → "fone").
fn sound_key(word: &str) -> String {
    let mut key = word
        .replace("ph", "f")
        .replace("ck", "k")
        .replace("wh", "w");
    for ending in ["ey", "ie", "ee", "y"] {
        if let Some(base) = key.strip_suffix(ending) {
            key = format!("{base}i");
            break;
        }
    }
    let mut out = String::with_capacity(key.len());
    for c in key.chars() {
        if !out.ends_with(c) {
            out.push(c);
        }
    }
    out
}
