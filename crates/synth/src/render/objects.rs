//! Placing the scene's objects: where each goes (foot point and scale by depth), then drawing
//! them back to front, with what people hold or wear.

use super::*;

impl<R: Rng> Painter<'_, R> {
    pub(super) fn objects(&mut self) {
        let placed = self.place();
        let mut bodies: Vec<(Concept, Body)> = Vec::new();
        for o in &placed {
            if let Some(b) = self.object(o) {
                bodies.push((o.what, b));
            }
        }
        self.accessories(&bodies);
        if self.spec.setting == Setting::Snow {
            self.snowflakes();
        }
    }

    /// Chooses position and size of every object, back to front.
    pub(super) fn place(&mut self) -> Vec<Placed> {
        let persons = [C::Woman, C::Man, C::Kid];
        let has_person = persons.iter().any(|c| self.spec.has(*c));
        let food_item = [C::Cake, C::Pizza, C::Icecream]
            .iter()
            .any(|c| self.spec.has(*c));
        let mut kinds: Vec<Concept> = self
            .spec
            .concepts
            .iter()
            .copied()
            .filter(|c| {
                matches!(
                    c,
                    C::Car
                        | C::Bike
                        | C::Boat
                        | C::Dog
                        | C::Cat
                        | C::Tree
                        | C::Flower
                        | C::Woman
                        | C::Man
                        | C::Kid
                        | C::Icecream
                        | C::Cake
                        | C::Pizza
                        | C::Wine
                        | C::Coffee
                ) || (matches!(c, C::Umbrella | C::Bag | C::Ski) && !has_person)
                    || (*c == C::Food && !food_item)
            })
            .collect();
        kinds.shuffle(self.rng);
        let n = kinds.len().max(1) as f32;
        let mut placed: Vec<Placed> = kinds
            .into_iter()
            .enumerate()
            .map(|(i, what)| {
                let slot = (i as f32 + 0.5) / n;
                let x = (slot + self.r(-0.3, 0.3) / n).clamp(0.12, 0.88) * self.w;
                let (y, s) = self.depth(what);
                Placed { what, x, y, s }
            })
            .collect();
        placed.sort_by(|a, b| a.y.total_cmp(&b.y));
        placed
    }

    /// Foot line and scale for an object: nearer (lower) objects are bigger.
    pub(super) fn depth(&mut self, what: Concept) -> (f32, f32) {
        let (w, hz) = (self.w, self.horizon);
        let k = w / 300.0;
        if self.spec.setting == Setting::Table {
            let y = self.r(hz + (w - hz) * 0.45, w - 8.0 * k);
            return (y, k * self.r(1.3, 1.7));
        }
        let (lo, hi) = match what {
            C::Boat => (hz + 6.0 * k, self.sea),
            C::Tree => (hz + 4.0 * k, hz + (w - hz) * 0.35),
            C::Icecream => (w - 10.0 * k, w - 2.0 * k),
            _ => (hz + (w - hz) * 0.35, w - 6.0 * k),
        };
        let y = self.r(lo, hi.max(lo + 1.0));
        let t = ((y - hz) / (w - hz)).clamp(0.0, 1.0);
        let s = k * (0.55 + 0.75 * t) * self.r(0.85, 1.15);
        let s = if what == C::Icecream {
            k * self.r(1.6, 2.0)
        } else {
            s
        };
        (y, s)
    }

    pub(super) fn object(&mut self, o: &Placed) -> Option<Body> {
        let dir = if self.rng.gen_bool(0.5) { 1.0 } else { -1.0 };
        match o.what {
            C::Car => self.car(o.x, o.y, o.s, dir),
            C::Bike => self.bike(o.x, o.y, o.s),
            C::Boat => self.boat(o.x, o.y, o.s),
            C::Dog => self.dog(o.x, o.y, o.s, dir),
            C::Cat => self.cat(o.x, o.y, o.s),
            C::Tree => self.tree(o.x, o.y, o.s),
            C::Flower => self.flowers(o.x, o.y, o.s),
            C::Woman | C::Man | C::Kid => return Some(self.person(o.what, o.x, o.y, o.s)),
            C::Icecream => self.icecream(o.x, o.y, o.s),
            C::Cake => self.cake(o.x, o.y, o.s),
            C::Pizza => self.pizza(o.x, o.y, o.s),
            C::Wine => self.wine(o.x, o.y, o.s),
            C::Coffee => self.coffee(o.x, o.y, o.s),
            C::Food => self.plate(o.x, o.y, o.s),
            C::Umbrella => self.umbrella_standing(o.x, o.y, o.s),
            C::Bag => {
                let h = 40.0 * o.s;
                self.bag((o.x, o.y - h), o.s * 1.3)
            }
            C::Ski => self.skis_standing(o.x, o.y, o.s),
            _ => {}
        }
        None
    }

    /// Umbrella, bag and skis go with the people when there are people.
    pub(super) fn accessories(&mut self, bodies: &[(Concept, Body)]) {
        let Some(first) = bodies.first().map(|b| b.1) else {
            return;
        };
        let woman = bodies.iter().find(|b| b.0 == C::Woman).map(|b| b.1);
        if self.spec.has(C::Umbrella) {
            self.umbrella_held(first);
        }
        if self.spec.has(C::Bag) {
            let b = woman.unwrap_or(first);
            self.bag(b.hand_l, b.height / 100.0);
        }
        if self.spec.has(C::Ski) {
            for (_, b) in bodies {
                self.skis_worn(*b);
            }
        }
    }
}
