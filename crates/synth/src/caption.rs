//! Instagram-like captions: the noisy labels of generated images.

use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::concept::Concept;

/// How captions are written. Each rate is a probability in `0..=1`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CaptionConfig {
    /// A concept in the picture is named (its canonical word always appears). Default 0.6.
    pub name_rate: f64,
    /// A named concept also gets a synonym (extra word, e.g. "puppy" for dog). Default 0.3.
    pub synonym_rate: f64,
    /// A word is written as a hashtag (`#dog`). Default 0.45.
    pub hashtag_rate: f64,
    /// A concept NOT in the picture is named anyway (per absent concept). Default 0.01.
    pub noise_rate: f64,
    /// Generic hashtags (`#love #instagood`): a count drawn uniformly in `0..=max`. Default 4.
    pub generic_hashtags_max: usize,
    /// The city appears as a hashtag (`#nyc`). Default 0.7.
    pub city_tag_rate: f64,
    /// An `@mention`. Default 0.25.
    pub mention_rate: f64,
    /// One to three emoji. Default 0.4.
    pub emoji_rate: f64,
    /// A filler phrase ("best day ever"). Default 0.6.
    pub filler_rate: f64,
}

impl Default for CaptionConfig {
    fn default() -> Self {
        CaptionConfig {
            name_rate: 0.6,
            synonym_rate: 0.3,
            hashtag_rate: 0.45,
            noise_rate: 0.01,
            generic_hashtags_max: 4,
            city_tag_rate: 0.7,
            mention_rate: 0.25,
            emoji_rate: 0.4,
            filler_rate: 0.6,
        }
    }
}

impl CaptionConfig {
    pub(crate) fn rates(&self) -> [(&'static str, f64); 8] {
        [
            ("name_rate", self.name_rate),
            ("synonym_rate", self.synonym_rate),
            ("hashtag_rate", self.hashtag_rate),
            ("noise_rate", self.noise_rate),
            ("city_tag_rate", self.city_tag_rate),
            ("mention_rate", self.mention_rate),
            ("emoji_rate", self.emoji_rate),
            ("filler_rate", self.filler_rate),
        ]
    }
}

fn synonyms(c: Concept) -> &'static [&'static str] {
    use Concept as C;
    match c {
        C::Car => &["auto", "ride", "carsofinstagram", "drive"],
        C::Skyline => &["cityscape", "downtown", "skyscrapers", "cityview"],
        C::Bike => &["bicycle", "cycling", "biking"],
        C::Sunrise => &["morning", "dawn", "goodmorning"],
        C::Snow => &["winter", "snowy", "snowday"],
        C::Rain => &["rainy", "rainyday", "wet"],
        C::Icecream => &["gelato", "dessert", "ice cream"],
        C::Cake => &["dessert", "birthday", "baking"],
        C::Pizza => &["pizzatime", "italian", "slice"],
        C::Woman => &["girl", "lady", "girls"],
        C::Man => &["guy", "dude", "gentleman"],
        C::Kid => &["child", "son", "daughter", "toddler", "kids"],
        C::Yellow => &["mellowyellow", "bright", "colorful"],
        C::Night => &["nightlife", "nighttime", "lights", "evening"],
        C::Park => &["nature", "garden", "outdoors"],
        C::Beach => &["sea", "ocean", "sand", "waves"],
        C::Ski => &["skiing", "slopes", "skitrip"],
        C::Umbrella => &["brolly", "parasol"],
        C::Chocolate => &["cocoa", "choco"],
        C::Wine => &["vino", "redwine", "cheers", "winelover"],
        C::Bag => &["handbag", "fashion", "purse"],
        C::Boat => &["sailing", "yacht", "sail", "harbour"],
        C::Dog => &["puppy", "dogsofinstagram", "doggo", "pup"],
        C::Cat => &["kitty", "catsofinstagram", "kitten"],
        C::Tree => &["trees", "leaves", "greenery"],
        C::Sunset => &["goldenhour", "dusk", "sky"],
        C::Food => &["foodporn", "yummy", "delicious", "foodie", "instafood"],
        C::Coffee => &["latte", "cappuccino", "coffeetime", "espresso"],
        C::Flower => &["flowers", "bloom", "floral"],
    }
}

fn city_tags(city: &str) -> &'static [&'static str] {
    match city {
        "london" => &["london", "ldn"],
        "newyork" => &["newyork", "nyc", "ny"],
        "sydney" => &["sydney"],
        "losangeles" => &["losangeles", "la"],
        "chicago" => &["chicago", "chitown"],
        "melbourne" => &["melbourne"],
        "miami" => &["miami"],
        "toronto" => &["toronto", "the6ix"],
        "singapore" => &["singapore", "sg"],
        "sanfrancisco" => &["sanfrancisco", "sf"],
        _ => &[],
    }
}

const GENERIC: &[&str] = &[
    "love",
    "instagood",
    "photooftheday",
    "picoftheday",
    "beautiful",
    "happy",
    "fun",
    "travel",
    "instadaily",
    "follow",
    "like4like",
    "tbt",
    "weekend",
    "friends",
    "life",
    "vsco",
];
const FILLER: &[&str] = &[
    "what a day",
    "so happy",
    "best day ever",
    "can't wait to come back",
    "with my favourite people",
    "loving this",
    "good times",
    "just vibes",
    "finally",
    "throwback",
    "weekend mood",
    "look at this",
    "my happy place",
    "Sunday funday",
    "no filter needed",
];
const EMOJI: &[&str] = &["😍", "❤️", "🔥", "✨", "😂", "🙌", "💯", "😎", "🙏", "💕"];
const SYLLABLES: &[&str] = &[
    "jo", "mi", "ka", "lu", "sa", "ben", "tor", "el", "ry", "an", "zo",
];

/// Writes the caption of an image showing `present`, taken in `city`.
pub(crate) fn write_caption(
    present: &[Concept],
    city: &str,
    cfg: &CaptionConfig,
    rng: &mut impl Rng,
) -> String {
    let mut words: Vec<String> = Vec::new();
    for &c in present {
        if rng.gen_bool(cfg.name_rate) {
            words.push(tagged(c.name(), cfg, rng));
            if rng.gen_bool(cfg.synonym_rate) {
                let syn = synonyms(c).choose(rng).copied().unwrap_or(c.name());
                words.push(tagged(syn, cfg, rng));
            }
        }
    }
    for c in Concept::ALL {
        if !present.contains(&c) && rng.gen_bool(cfg.noise_rate) {
            words.push(tagged(c.name(), cfg, rng));
        }
    }
    words.shuffle(rng);
    let mut parts: Vec<String> = Vec::new();
    if rng.gen_bool(cfg.filler_rate) {
        parts.push(FILLER.choose(rng).copied().unwrap_or("").to_string());
    }
    parts.extend(words);
    if rng.gen_bool(cfg.mention_rate) {
        parts.push(format!("with {}", mention(rng)));
    }
    if rng.gen_bool(cfg.emoji_rate) {
        let n = rng.gen_range(1..=3);
        parts.push((0..n).filter_map(|_| EMOJI.choose(rng).copied()).collect());
    }
    if rng.gen_bool(cfg.city_tag_rate) {
        if let Some(t) = city_tags(city).choose(rng) {
            parts.push(format!("#{t}"));
        }
    }
    let n = rng.gen_range(0..=cfg.generic_hashtags_max);
    parts.extend(GENERIC.choose_multiple(rng, n).map(|g| format!("#{g}")));
    parts.retain(|p| !p.is_empty());
    parts.join(" ")
}

/// `word`, as a hashtag at `hashtag_rate` (multi-word synonyms lose their space then).
fn tagged(word: &str, cfg: &CaptionConfig, rng: &mut impl Rng) -> String {
    if rng.gen_bool(cfg.hashtag_rate) {
        format!("#{}", word.replace(' ', ""))
    } else {
        word.to_string()
    }
}

fn mention(rng: &mut impl Rng) -> String {
    let n = rng.gen_range(2..4);
    let name: String = (0..n)
        .filter_map(|_| SYLLABLES.choose(rng).copied())
        .collect();
    format!("@{name}{}", rng.gen_range(0..100))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn tokens(caption: &str) -> Vec<String> {
        caption
            .replace('#', " ")
            .split_whitespace()
            .map(str::to_lowercase)
            .collect()
    }

    #[test]
    fn named_concepts_use_the_canonical_word() {
        let cfg = CaptionConfig {
            name_rate: 1.0,
            noise_rate: 0.0,
            ..CaptionConfig::default()
        };
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let present = [Concept::Dog, Concept::Beach, Concept::Icecream];
        for _ in 0..50 {
            let t = tokens(&write_caption(&present, "miami", &cfg, &mut rng));
            for c in present {
                assert!(t.iter().any(|w| w == c.name()), "{t:?}");
            }
            assert!(!t.iter().any(|w| w == "car"), "{t:?}");
        }
    }

    #[test]
    fn captions_are_noisy_labels() {
        let cfg = CaptionConfig::default();
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let (mut named, mut noise, n) = (0, 0, 2000);
        for _ in 0..n {
            let t = tokens(&write_caption(&[Concept::Dog], "london", &cfg, &mut rng));
            named += usize::from(t.iter().any(|w| w == "dog"));
            noise += usize::from(t.iter().any(|w| w == "pizza"));
        }
        let named_rate = named as f64 / n as f64;
        assert!((named_rate - 0.6).abs() < 0.05, "{named_rate}");
        assert!(noise > 0 && noise < n / 30, "{noise}");
    }

    #[test]
    fn city_tags_cover_the_cities() {
        for c in webly_data::CITIES {
            assert!(!city_tags(c).is_empty(), "{c}");
        }
    }
}
