//! The concepts of generated images and how a scene's concepts are sampled.

use rand::seq::SliceRandom;
use rand::Rng;

/// Every concept the generator can draw, in `Concept::ALL` order. The first 23 are the words
/// of the reference queries.
pub const CONCEPTS: &[&str] = &[
    "car",
    "skyline",
    "bike",
    "sunrise",
    "snow",
    "rain",
    "icecream",
    "cake",
    "pizza",
    "woman",
    "man",
    "kid",
    "yellow",
    "night",
    "park",
    "beach",
    "ski",
    "umbrella",
    "chocolate",
    "wine",
    "bag",
    "boat",
    "dog",
    "cat",
    "tree",
    "sunset",
    "food",
    "coffee",
    "flower",
];

/// The two-word queries of the reference; scenes are built around one of them at `pair_rate`.
pub const QUERY_PAIRS: [(&str, &str); 12] = [
    ("yellow", "car"),
    ("skyline", "night"),
    ("bike", "park"),
    ("sunrise", "beach"),
    ("snow", "ski"),
    ("rain", "umbrella"),
    ("icecream", "beach"),
    ("chocolate", "cake"),
    ("pizza", "wine"),
    ("woman", "bag"),
    ("man", "boat"),
    ("kid", "dog"),
];

/// A concept, in the order of [`CONCEPTS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Concept {
    Car,
    Skyline,
    Bike,
    Sunrise,
    Snow,
    Rain,
    Icecream,
    Cake,
    Pizza,
    Woman,
    Man,
    Kid,
    Yellow,
    Night,
    Park,
    Beach,
    Ski,
    Umbrella,
    Chocolate,
    Wine,
    Bag,
    Boat,
    Dog,
    Cat,
    Tree,
    Sunset,
    Food,
    Coffee,
    Flower,
}

use Concept as C;

impl Concept {
    pub const ALL: [Concept; 29] = [
        C::Car,
        C::Skyline,
        C::Bike,
        C::Sunrise,
        C::Snow,
        C::Rain,
        C::Icecream,
        C::Cake,
        C::Pizza,
        C::Woman,
        C::Man,
        C::Kid,
        C::Yellow,
        C::Night,
        C::Park,
        C::Beach,
        C::Ski,
        C::Umbrella,
        C::Chocolate,
        C::Wine,
        C::Bag,
        C::Boat,
        C::Dog,
        C::Cat,
        C::Tree,
        C::Sunset,
        C::Food,
        C::Coffee,
        C::Flower,
    ];

    pub fn name(self) -> &'static str {
        CONCEPTS[self as usize]
    }

    pub fn from_name(name: &str) -> Option<Concept> {
        CONCEPTS
            .iter()
            .position(|c| *c == name)
            .map(|i| Concept::ALL[i])
    }

    /// The settings this concept can appear in (bit mask of [`Setting`]).
    fn settings(self) -> u8 {
        const OUT: u8 = STREET | PARK | BEACH | SNOW;
        match self {
            C::Car | C::Tree => STREET | PARK | SNOW,
            C::Skyline | C::Sunrise | C::Sunset | C::Night | C::Woman | C::Man | C::Kid => OUT,
            C::Dog => OUT,
            C::Bike | C::Rain | C::Umbrella => STREET | PARK | BEACH,
            C::Snow | C::Ski => SNOW,
            C::Park => PARK,
            C::Beach | C::Boat => BEACH,
            C::Icecream | C::Chocolate | C::Bag => STREET | PARK | BEACH | TABLE,
            C::Cake | C::Pizza | C::Wine | C::Food | C::Coffee => TABLE,
            C::Cat | C::Flower => STREET | PARK | TABLE,
            C::Yellow => OUT | TABLE,
        }
    }

    /// Concepts that cannot share a scene with this one.
    fn excludes(self) -> &'static [Concept] {
        match self {
            C::Night => &[C::Sunrise, C::Sunset],
            C::Sunrise => &[C::Night, C::Sunset, C::Rain],
            C::Sunset => &[C::Night, C::Sunrise, C::Rain],
            C::Rain => &[C::Sunrise, C::Sunset],
            _ => &[],
        }
    }
}

pub(crate) const STREET: u8 = 1;
pub(crate) const PARK: u8 = 2;
pub(crate) const BEACH: u8 = 4;
pub(crate) const SNOW: u8 = 8;
pub(crate) const TABLE: u8 = 16;

/// Where a scene takes place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Setting {
    Street,
    Park,
    Beach,
    Snow,
    Table,
}

impl Setting {
    fn from_bit(bit: u8) -> Setting {
        match bit {
            PARK => Setting::Park,
            BEACH => Setting::Beach,
            SNOW => Setting::Snow,
            TABLE => Setting::Table,
            _ => Setting::Street,
        }
    }
}

/// The concepts chosen for one scene, and where it takes place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SceneSpec {
    pub setting: Setting,
    pub concepts: Vec<Concept>,
}

impl SceneSpec {
    pub fn has(&self, c: Concept) -> bool {
        self.concepts.contains(&c)
    }
}

/// Objects that "yellow" can colour.
const COLOURABLE: [Concept; 6] = [C::Car, C::Bike, C::Umbrella, C::Bag, C::Boat, C::Flower];
/// Objects that "chocolate" can colour.
const CHOCOLATE_ITEMS: [Concept; 2] = [C::Cake, C::Icecream];
/// Concepts naming a setting.
const SETTING_CONCEPTS: [(Concept, u8); 3] = [(C::Park, PARK), (C::Beach, BEACH), (C::Snow, SNOW)];
/// Modifiers (yellow, chocolate) drawn in the random fill are kept at this rate, so that most
/// cakes are not chocolate and most cars not yellow.
const MODIFIER_ACCEPT: f64 = 0.4;
/// Tries at adding a random concept before settling for fewer.
const MAX_TRIES: usize = 40;

/// Sampling state: chosen concepts and the settings they all allow.
struct Draft {
    concepts: Vec<Concept>,
    mask: u8,
}

impl Draft {
    /// Adds `c` (and what it needs) if it fits with what is already there.
    fn try_add(&mut self, c: Concept, rng: &mut impl Rng) -> bool {
        if self.concepts.contains(&c) {
            return true;
        }
        let mask = self.mask & c.settings();
        let clash = self.concepts.iter().any(|o| o.excludes().contains(&c));
        if mask == 0 || clash {
            return false;
        }
        let needs: &[Concept] = match c {
            C::Yellow => &COLOURABLE,
            C::Chocolate => &CHOCOLATE_ITEMS,
            _ => &[],
        };
        if !needs.is_empty() && !needs.iter().any(|n| self.concepts.contains(n)) {
            let fitting: Vec<Concept> = needs
                .iter()
                .copied()
                .filter(|n| mask & n.settings() != 0)
                .collect();
            let Some(&n) = fitting.choose(rng) else {
                return false;
            };
            self.mask = mask & n.settings();
            self.concepts.push(n);
        } else {
            self.mask = mask;
        }
        self.concepts.push(c);
        true
    }
}

/// Samples a scene: at `pair_rate` one of the [`QUERY_PAIRS`], then random concepts up to a
/// count in `min..=max`; then a setting every concept allows. Setting concepts (park, beach,
/// snow) are added when their setting is chosen, and "food" whenever a food item is present.
pub(crate) fn sample_scene(
    rng: &mut impl Rng,
    min: usize,
    max: usize,
    pair_rate: f64,
) -> SceneSpec {
    let mut draft = Draft {
        concepts: Vec::new(),
        mask: 0xFF,
    };
    if rng.gen_bool(pair_rate) {
        let (a, b) = QUERY_PAIRS[rng.gen_range(0..QUERY_PAIRS.len())];
        for name in [a, b] {
            if let Some(c) = Concept::from_name(name) {
                draft.try_add(c, rng);
            }
        }
    }
    let target = rng.gen_range(min..=max.max(min));
    for _ in 0..MAX_TRIES {
        if draft.concepts.len() >= target {
            break;
        }
        let c = Concept::ALL[rng.gen_range(0..Concept::ALL.len())];
        let modifier = matches!(c, C::Yellow | C::Chocolate);
        if !modifier || rng.gen_bool(MODIFIER_ACCEPT) {
            draft.try_add(c, rng);
        }
    }
    finish(draft, rng)
}

/// Picks the setting and adds the concepts it implies.
fn finish(mut draft: Draft, rng: &mut impl Rng) -> SceneSpec {
    let bits: Vec<u8> = [STREET, PARK, BEACH, SNOW, TABLE]
        .into_iter()
        .filter(|b| draft.mask & b != 0)
        .collect();
    let bit = *bits.choose(rng).unwrap_or(&STREET);
    for (c, b) in SETTING_CONCEPTS {
        if b == bit && !draft.concepts.contains(&c) {
            draft.concepts.push(c);
        }
    }
    let food = [C::Cake, C::Pizza, C::Icecream];
    if food.iter().any(|f| draft.concepts.contains(f)) && !draft.concepts.contains(&C::Food) {
        draft.concepts.push(C::Food);
    }
    draft.concepts.sort();
    SceneSpec {
        setting: Setting::from_bit(bit),
        concepts: draft.concepts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn names_and_enum_agree() {
        assert_eq!(CONCEPTS.len(), Concept::ALL.len());
        for (i, c) in Concept::ALL.iter().enumerate() {
            assert_eq!(*c as usize, i);
            assert_eq!(Concept::from_name(c.name()), Some(*c));
        }
        for (a, b) in QUERY_PAIRS {
            assert!(Concept::from_name(a).is_some() && Concept::from_name(b).is_some());
        }
    }

    #[test]
    fn scenes_are_consistent() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..2000 {
            let s = sample_scene(&mut rng, 2, 4, 0.45);
            assert!(s.concepts.len() >= 2, "{s:?}");
            let bit = match s.setting {
                Setting::Street => STREET,
                Setting::Park => PARK,
                Setting::Beach => BEACH,
                Setting::Snow => SNOW,
                Setting::Table => TABLE,
            };
            for c in s.concepts.iter().filter(|c| **c != C::Food) {
                assert!(c.settings() & bit != 0, "{c:?} in {s:?}");
                for x in c.excludes() {
                    assert!(!s.has(*x), "{s:?}");
                }
            }
            if s.has(C::Yellow) {
                assert!(COLOURABLE.iter().any(|c| s.has(*c)), "{s:?}");
            }
            if s.has(C::Chocolate) {
                assert!(s.has(C::Cake) || s.has(C::Icecream), "{s:?}");
            }
            assert_eq!(s.has(C::Beach), s.setting == Setting::Beach);
        }
    }

    #[test]
    fn every_query_pair_is_common_enough() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let n = 4000;
        let scenes: Vec<SceneSpec> = (0..n).map(|_| sample_scene(&mut rng, 2, 4, 0.45)).collect();
        for (a, b) in QUERY_PAIRS {
            let (a, b) = (
                Concept::from_name(a).unwrap(),
                Concept::from_name(b).unwrap(),
            );
            let k = scenes.iter().filter(|s| s.has(a) && s.has(b)).count();
            assert!(k * 100 >= n * 2, "{a:?}+{b:?}: {k} of {n}");
        }
        for c in Concept::ALL {
            let k = scenes.iter().filter(|s| s.has(c)).count();
            assert!(k * 100 >= n * 2, "{c:?}: {k} of {n}");
        }
    }
}
