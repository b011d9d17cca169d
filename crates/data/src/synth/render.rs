//! Procedural scenes: background by setting and time of day, objects drawn as shapes, then
//! lighting, night lights, rain and pixel noise. Returns the concepts actually drawn.

use std::collections::BTreeSet;

use image::{Rgb, RgbImage};
use rand::seq::SliceRandom;
use rand::Rng;

use super::concept::{Concept, SceneSpec, Setting};
use super::draw::{arc, circle, ellipse, line, mix, poly, rect, ring, shade, vgradient, Colour};
use super::palette as pal;

use Concept as C;

/// A rendered scene and the concepts it really shows.
pub(crate) struct Rendered {
    pub image: RgbImage,
    pub concepts: Vec<Concept>,
}

/// Something that glows at night, drawn after the darkening.
enum Light {
    Window(f32, f32, f32, f32),
    Headlight(f32, f32, f32),
    Lamp(f32, f32, f32),
}

/// Where a person's hands and feet are, for umbrellas, bags and skis.
#[derive(Clone, Copy)]
struct Body {
    x: f32,
    foot: f32,
    height: f32,
    hand_l: (f32, f32),
    hand_r: (f32, f32),
}

/// One object to draw: what, where (foot point) and how big (pixels per unit).
struct Placed {
    what: Concept,
    x: f32,
    y: f32,
    s: f32,
}

/// Drawing state for one scene.
struct Painter<'a, R: Rng> {
    img: RgbImage,
    rng: &'a mut R,
    spec: &'a SceneSpec,
    /// Image side in pixels.
    w: f32,
    /// Horizon (outdoors) or table edge (indoors), in pixels.
    horizon: f32,
    /// Bottom of the sea band on the beach.
    sea: f32,
    drawn: BTreeSet<Concept>,
    lights: Vec<Light>,
    yellow: Option<Concept>,
}

/// Renders `spec` as a `size` x `size` RGB image with pixel noise of amplitude `noise`.
pub(crate) fn render<R: Rng>(spec: &SceneSpec, size: u32, noise: u8, rng: &mut R) -> Rendered {
    let w = size as f32;
    let horizon = w * rng.gen_range(0.40..0.56);
    let yellow_targets: Vec<Concept> = [C::Car, C::Umbrella, C::Bike, C::Bag, C::Boat, C::Flower]
        .into_iter()
        .filter(|c| spec.has(*c))
        .collect();
    let yellow = if spec.has(C::Yellow) {
        yellow_targets.choose(rng).copied()
    } else {
        None
    };
    let mut p = Painter {
        img: RgbImage::new(size, size),
        rng,
        spec,
        w,
        horizon,
        sea: horizon + (w - horizon) * 0.4,
        drawn: BTreeSet::new(),
        lights: Vec::new(),
        yellow,
    };
    p.background();
    p.objects();
    p.lighting();
    p.night_lights();
    p.rain();
    p.noise(noise);
    Rendered {
        image: p.img,
        concepts: p.drawn.into_iter().collect(),
    }
}

impl<R: Rng> Painter<'_, R> {
    fn r(&mut self, lo: f32, hi: f32) -> f32 {
        self.rng.gen_range(lo..hi)
    }

    fn pick(&mut self, colours: &[Colour]) -> Colour {
        let c = colours[self.rng.gen_range(0..colours.len())];
        let f = self.r(0.88, 1.12);
        shade(c, f)
    }

    /// The colour of `what`: yellow when it is the scene's yellow object, else from `colours`.
    fn colour_of(&mut self, what: Concept, colours: &[Colour]) -> Colour {
        if self.yellow == Some(what) {
            self.drawn.insert(C::Yellow);
            let f = self.r(0.92, 1.04);
            shade(pal::YELLOW, f)
        } else {
            self.pick(colours)
        }
    }

    // ----- background -------------------------------------------------------------------

    fn background(&mut self) {
        if self.spec.setting == Setting::Table {
            self.indoor();
            return;
        }
        self.sky();
        if self.spec.setting == Setting::Snow {
            self.mountains();
        }
        if self.spec.has(C::Skyline) {
            self.skyline();
        }
        self.ground();
    }

    fn sky(&mut self) {
        let s = self.spec;
        let (top, bottom) = if s.has(C::Night) {
            self.drawn.insert(C::Night);
            (Rgb([40, 50, 110]), Rgb([75, 80, 140]))
        } else if s.has(C::Sunrise) {
            self.drawn.insert(C::Sunrise);
            (Rgb([130, 170, 225]), Rgb([255, 205, 150]))
        } else if s.has(C::Sunset) {
            self.drawn.insert(C::Sunset);
            (Rgb([90, 60, 130]), Rgb([255, 140, 60]))
        } else if s.has(C::Rain) {
            (Rgb([105, 110, 120]), Rgb([160, 165, 170]))
        } else {
            (Rgb([60, 125, 205]), Rgb([175, 210, 240]))
        };
        let h = self.horizon as u32 + 1;
        vgradient(&mut self.img, 0, h, top, bottom);
        if s.has(C::Sunrise) || s.has(C::Sunset) {
            let x = self.r(0.2, 0.8) * self.w;
            let r = self.r(0.07, 0.11) * self.w;
            let c = if s.has(C::Sunrise) {
                Rgb([255, 225, 150])
            } else {
                Rgb([235, 75, 30])
            };
            circle(&mut self.img, x, self.horizon, r, c);
        } else if !s.has(C::Night) && !s.has(C::Rain) {
            self.clouds();
        }
    }

    fn clouds(&mut self) {
        let n = self.rng.gen_range(0..4);
        for _ in 0..n {
            let (x, y) = (self.r(0.0, self.w), self.r(0.05, 0.3) * self.w);
            let r = self.r(0.03, 0.06) * self.w;
            for i in 0..3 {
                let dx = (i as f32 - 1.0) * r;
                ellipse(
                    &mut self.img,
                    x + dx,
                    y,
                    r * 1.1,
                    r * 0.7,
                    Rgb([245, 245, 250]),
                );
            }
        }
    }

    fn mountains(&mut self) {
        let n = self.rng.gen_range(2..5);
        for _ in 0..n {
            let x = self.r(-0.1, 1.1) * self.w;
            let h = self.r(0.12, 0.25) * self.w;
            let half = h * self.r(1.0, 1.8);
            let hz = self.horizon + 1.0;
            let grey = self.pick(&[Rgb([120, 125, 140])]);
            poly(
                &mut self.img,
                &[(x - half, hz), (x, hz - h), (x + half, hz)],
                grey,
            );
            let cap = Rgb([245, 248, 252]);
            let t = 0.35;
            poly(
                &mut self.img,
                &[
                    (x - half * t, hz - h * (1.0 - t)),
                    (x, hz - h),
                    (x + half * t, hz - h * (1.0 - t)),
                ],
                cap,
            );
        }
    }

    fn skyline(&mut self) {
        self.drawn.insert(C::Skyline);
        let night = self.spec.has(C::Night);
        let mut x = self.r(-0.05, 0.0) * self.w;
        while x < self.w {
            let bw = self.r(0.06, 0.13) * self.w;
            let bh = self.r(0.12, 0.38) * self.w;
            let top = self.horizon - bh;
            let c = self.pick(pal::BUILDING);
            rect(&mut self.img, x, top, x + bw - 1.0, self.horizon + 1.0, c);
            if self.rng.gen_bool(0.3) {
                let sx = x + bw / 2.0;
                line(&mut self.img, (sx, top), (sx, top - bh * 0.15), 2.0, c);
            }
            self.windows(x, top, bw, night);
            x += bw + self.r(0.0, 0.02) * self.w;
        }
    }

    fn windows(&mut self, x: f32, top: f32, bw: f32, night: bool) {
        let step = (self.w * 0.025).max(3.0);
        let dark = Rgb([50, 60, 80]);
        let mut y = top + step * 0.6;
        while y < self.horizon - step {
            let mut wx = x + step * 0.4;
            while wx < x + bw - step * 0.6 {
                if night {
                    if self.rng.gen_bool(0.45) {
                        self.lights
                            .push(Light::Window(wx, y, wx + step * 0.45, y + step * 0.5));
                    }
                } else {
                    rect(&mut self.img, wx, y, wx + step * 0.45, y + step * 0.5, dark);
                }
                wx += step;
            }
            y += step;
        }
    }

    fn ground(&mut self) {
        let (w, hz) = (self.w, self.horizon);
        match self.spec.setting {
            Setting::Street => {
                vgradient(
                    &mut self.img,
                    hz as u32,
                    (hz + (w - hz) * 0.2) as u32,
                    Rgb([175, 170, 165]),
                    Rgb([160, 155, 150]),
                );
                let road = hz + (w - hz) * 0.2;
                vgradient(
                    &mut self.img,
                    road as u32,
                    w as u32,
                    Rgb([85, 85, 90]),
                    Rgb([60, 60, 65]),
                );
                let ly = road + (w - road) * 0.45;
                let mut x = self.r(-20.0, 0.0);
                while x < w {
                    rect(
                        &mut self.img,
                        x,
                        ly,
                        x + w * 0.08,
                        ly + w * 0.012,
                        Rgb([235, 235, 235]),
                    );
                    x += w * 0.16;
                }
                if self.rng.gen_bool(0.5) {
                    self.lamp();
                }
            }
            Setting::Park => {
                self.drawn.insert(C::Park);
                vgradient(
                    &mut self.img,
                    hz as u32,
                    w as u32,
                    Rgb([95, 160, 70]),
                    Rgb([60, 130, 45]),
                );
                self.bushes();
                self.grass();
                if self.rng.gen_bool(0.6) {
                    self.bench();
                }
            }
            Setting::Beach => {
                self.drawn.insert(C::Beach);
                vgradient(
                    &mut self.img,
                    hz as u32,
                    self.sea as u32 + 1,
                    Rgb([40, 110, 175]),
                    Rgb([60, 150, 190]),
                );
                for _ in 0..8 {
                    let y = self.r(hz + 3.0, self.sea);
                    let x = self.r(0.0, w);
                    line(
                        &mut self.img,
                        (x, y),
                        (x + w * 0.1, y),
                        1.0,
                        Rgb([200, 230, 245]),
                    );
                }
                vgradient(
                    &mut self.img,
                    self.sea as u32,
                    w as u32,
                    Rgb([235, 215, 165]),
                    Rgb([220, 195, 140]),
                );
                ellipse(
                    &mut self.img,
                    w / 2.0,
                    self.sea,
                    w * 0.8,
                    w * 0.012,
                    Rgb([245, 245, 240]),
                );
            }
            Setting::Snow => {
                self.drawn.insert(C::Snow);
                vgradient(
                    &mut self.img,
                    hz as u32,
                    w as u32,
                    Rgb([225, 232, 245]),
                    Rgb([250, 252, 255]),
                );
                for _ in 0..5 {
                    let (x, y) = (self.r(0.0, w), self.r(hz + 10.0, w));
                    ellipse(
                        &mut self.img,
                        x,
                        y,
                        w * 0.15,
                        w * 0.015,
                        Rgb([205, 215, 235]),
                    );
                }
            }
            Setting::Table => {}
        }
    }

    fn grass(&mut self) {
        let (w, hz) = (self.w, self.horizon);
        for _ in 0..120 {
            let (x, y) = (self.r(0.0, w), self.r(hz + 4.0, w));
            let h = 2.0 + (y - hz) / w * 12.0;
            line(
                &mut self.img,
                (x, y),
                (x + 1.0, y - h),
                1.0,
                Rgb([50, 110, 40]),
            );
        }
    }

    fn bushes(&mut self) {
        let n = self.rng.gen_range(2..6);
        for _ in 0..n {
            let x = self.r(0.0, self.w);
            let r = self.r(0.04, 0.08) * self.w;
            ellipse(
                &mut self.img,
                x,
                self.horizon,
                r * 1.4,
                r,
                Rgb([40, 95, 45]),
            );
        }
    }

    fn bench(&mut self) {
        let x = self.r(0.1, 0.8) * self.w;
        let y = self.horizon + (self.w - self.horizon) * 0.25;
        let bw = self.w * 0.16;
        let wood = Rgb([120, 80, 45]);
        rect(&mut self.img, x, y - bw * 0.25, x + bw, y - bw * 0.2, wood);
        rect(&mut self.img, x, y - bw * 0.4, x + bw, y - bw * 0.33, wood);
        line(
            &mut self.img,
            (x + 3.0, y - bw * 0.2),
            (x + 3.0, y),
            2.0,
            Rgb([40, 40, 40]),
        );
        line(
            &mut self.img,
            (x + bw - 3.0, y - bw * 0.2),
            (x + bw - 3.0, y),
            2.0,
            Rgb([40, 40, 40]),
        );
    }

    fn lamp(&mut self) {
        let x = self.r(0.05, 0.95) * self.w;
        let y = self.horizon + (self.w - self.horizon) * 0.2;
        let h = self.w * 0.35;
        line(&mut self.img, (x, y), (x, y - h), 3.0, Rgb([50, 50, 55]));
        line(
            &mut self.img,
            (x, y - h),
            (x + h * 0.15, y - h),
            3.0,
            Rgb([50, 50, 55]),
        );
        circle(
            &mut self.img,
            x + h * 0.15,
            y - h + 3.0,
            3.0,
            Rgb([200, 200, 190]),
        );
        self.lights
            .push(Light::Lamp(x + h * 0.15, y - h + 3.0, self.w * 0.03));
    }

    fn indoor(&mut self) {
        let wall = self.pick(pal::WALL);
        let hz = self.horizon * 0.8;
        self.horizon = hz;
        vgradient(
            &mut self.img,
            0,
            hz as u32 + 1,
            shade(wall, 1.05),
            shade(wall, 0.9),
        );
        if self.rng.gen_bool(0.5) {
            let (x, y) = (self.r(0.1, 0.6) * self.w, self.r(0.05, 0.15) * self.w);
            rect(
                &mut self.img,
                x,
                y,
                x + self.w * 0.25,
                y + self.w * 0.18,
                Rgb([90, 70, 50]),
            );
            let art = self.pick(pal::CLOTHES);
            rect(
                &mut self.img,
                x + 4.0,
                y + 4.0,
                x + self.w * 0.25 - 4.0,
                y + self.w * 0.18 - 4.0,
                art,
            );
        }
        let table = self.pick(pal::TABLE);
        vgradient(
            &mut self.img,
            hz as u32,
            self.w as u32,
            shade(table, 0.9),
            table,
        );
        if table.0[0] > 200 && self.rng.gen_bool(0.5) {
            self.checks(hz);
        }
    }

    fn checks(&mut self, top: f32) {
        let step = self.w / 10.0;
        let red = Rgb([200, 60, 60]);
        for j in 0..10 {
            for i in 0..10 {
                let (x, y) = (i as f32 * step, top + j as f32 * step * 0.6);
                if (i + j) % 2 == 0 && y < self.w {
                    rect(&mut self.img, x, y, x + step, y + step * 0.6, red);
                }
            }
        }
    }

    // ----- objects ----------------------------------------------------------------------

    fn objects(&mut self) {
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
    fn place(&mut self) -> Vec<Placed> {
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
    fn depth(&mut self, what: Concept) -> (f32, f32) {
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

    fn object(&mut self, o: &Placed) -> Option<Body> {
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
    fn accessories(&mut self, bodies: &[(Concept, Body)]) {
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

    fn car(&mut self, x: f32, y: f32, s: f32, dir: f32) {
        self.drawn.insert(C::Car);
        let u = 110.0 * s;
        let body = self.colour_of(C::Car, pal::VEHICLE);
        let r = 0.11 * u;
        let (bot, top) = (y - r * 0.7, y - r * 0.7 - 0.25 * u);
        poly(
            &mut self.img,
            &[
                (x - 0.5 * u, bot),
                (x - 0.5 * u, top + 0.04 * u),
                (x - 0.46 * u, top),
                (x + 0.46 * u, top),
                (x + 0.5 * u, top + 0.04 * u),
                (x + 0.5 * u, bot),
            ],
            body,
        );
        let cx = x - dir * 0.05 * u;
        let roof = top - 0.2 * u;
        poly(
            &mut self.img,
            &[
                (cx - 0.3 * u, top),
                (cx - 0.2 * u, roof),
                (cx + 0.2 * u, roof),
                (cx + 0.3 * u, top),
            ],
            shade(body, 0.92),
        );
        let glass = Rgb([150, 190, 220]);
        poly(
            &mut self.img,
            &[
                (cx - 0.25 * u, top - 1.0),
                (cx - 0.17 * u, roof + 0.04 * u),
                (cx - 0.02 * u, roof + 0.04 * u),
                (cx - 0.02 * u, top - 1.0),
            ],
            glass,
        );
        poly(
            &mut self.img,
            &[
                (cx + 0.02 * u, top - 1.0),
                (cx + 0.02 * u, roof + 0.04 * u),
                (cx + 0.17 * u, roof + 0.04 * u),
                (cx + 0.25 * u, top - 1.0),
            ],
            glass,
        );
        for wx in [x - 0.3 * u, x + 0.3 * u] {
            circle(&mut self.img, wx, y - r, r, Rgb([20, 20, 20]));
            circle(&mut self.img, wx, y - r, r * 0.5, Rgb([170, 170, 175]));
        }
        let fx = x + dir * 0.47 * u;
        circle(
            &mut self.img,
            fx,
            top + 0.08 * u,
            0.03 * u,
            Rgb([230, 230, 220]),
        );
        self.lights
            .push(Light::Headlight(fx, top + 0.08 * u, 0.05 * u));
    }

    fn bike(&mut self, x: f32, y: f32, s: f32) {
        self.drawn.insert(C::Bike);
        let u = 80.0 * s;
        let frame = self.colour_of(C::Bike, pal::VEHICLE);
        let r = 0.22 * u;
        let (back, front) = ((x - 0.32 * u, y - r), (x + 0.32 * u, y - r));
        let tyre = Rgb([25, 25, 25]);
        let t = (0.04 * u).max(2.0);
        ring(&mut self.img, back.0, back.1, r, t, tyre);
        ring(&mut self.img, front.0, front.1, r, t, tyre);
        let pedal = (x - 0.02 * u, y - r);
        let seat = (x - 0.1 * u, y - 0.62 * u);
        let bar = (x + 0.22 * u, y - 0.66 * u);
        let fw = (0.05 * u).max(2.0);
        for (a, b) in [
            (back, seat),
            (back, pedal),
            (pedal, seat),
            (pedal, bar),
            (seat, bar),
            (bar, front),
        ] {
            line(&mut self.img, a, b, fw, frame);
        }
        rect(
            &mut self.img,
            seat.0 - 0.08 * u,
            seat.1 - 0.04 * u,
            seat.0 + 0.06 * u,
            seat.1,
            Rgb([20, 20, 20]),
        );
        line(
            &mut self.img,
            (bar.0 - 0.06 * u, bar.1 - 0.04 * u),
            (bar.0 + 0.08 * u, bar.1 - 0.06 * u),
            fw,
            Rgb([30, 30, 30]),
        );
    }

    fn boat(&mut self, x: f32, y: f32, s: f32) {
        self.drawn.insert(C::Boat);
        let u = 120.0 * s;
        let hull = self.colour_of(C::Boat, pal::VEHICLE);
        let deck = y - 0.16 * u;
        poly(
            &mut self.img,
            &[
                (x - 0.5 * u, deck),
                (x + 0.55 * u, deck),
                (x + 0.38 * u, y),
                (x - 0.4 * u, y),
            ],
            hull,
        );
        rect(
            &mut self.img,
            x - 0.5 * u,
            deck,
            x + 0.55 * u,
            deck + 0.03 * u,
            shade(hull, 0.7),
        );
        if self.rng.gen_bool(0.6) {
            line(
                &mut self.img,
                (x, deck),
                (x, deck - 0.75 * u),
                (0.025 * u).max(2.0),
                Rgb([90, 70, 50]),
            );
            poly(
                &mut self.img,
                &[
                    (x + 2.0, deck - 0.72 * u),
                    (x + 2.0, deck - 0.06 * u),
                    (x + 0.42 * u, deck - 0.06 * u),
                ],
                Rgb([248, 248, 245]),
            );
            poly(
                &mut self.img,
                &[
                    (x - 2.0, deck - 0.55 * u),
                    (x - 2.0, deck - 0.06 * u),
                    (x - 0.28 * u, deck - 0.06 * u),
                ],
                Rgb([230, 230, 225]),
            );
        } else {
            rect(
                &mut self.img,
                x - 0.25 * u,
                deck - 0.16 * u,
                x + 0.2 * u,
                deck,
                Rgb([240, 240, 240]),
            );
            rect(
                &mut self.img,
                x - 0.2 * u,
                deck - 0.12 * u,
                x + 0.15 * u,
                deck - 0.07 * u,
                Rgb([60, 90, 120]),
            );
        }
    }

    fn dog(&mut self, x: f32, y: f32, s: f32, dir: f32) {
        self.drawn.insert(C::Dog);
        let u = 70.0 * s;
        let c = self.pick(pal::DOG);
        let dark = shade(c, 0.6);
        let by = y - 0.42 * u;
        let leg = (0.07 * u).max(2.0);
        for lx in [-0.25, -0.15, 0.15, 0.25] {
            line(
                &mut self.img,
                (x + lx * u, by),
                (x + lx * u, y),
                leg,
                shade(c, 0.85),
            );
        }
        ellipse(&mut self.img, x, by, 0.34 * u, 0.15 * u, c);
        line(
            &mut self.img,
            (x - dir * 0.3 * u, by - 0.05 * u),
            (x - dir * 0.45 * u, by - 0.3 * u),
            leg * 0.8,
            c,
        );
        let (hx, hy) = (x + dir * 0.38 * u, by - 0.2 * u);
        circle(&mut self.img, hx, hy, 0.13 * u, c);
        ellipse(
            &mut self.img,
            hx + dir * 0.14 * u,
            hy + 0.04 * u,
            0.09 * u,
            0.06 * u,
            c,
        );
        circle(
            &mut self.img,
            hx + dir * 0.22 * u,
            hy + 0.03 * u,
            0.03 * u,
            Rgb([15, 15, 15]),
        );
        ellipse(
            &mut self.img,
            hx - dir * 0.07 * u,
            hy + 0.04 * u,
            0.05 * u,
            0.12 * u,
            dark,
        );
        circle(
            &mut self.img,
            hx + dir * 0.05 * u,
            hy - 0.03 * u,
            0.02 * u,
            Rgb([10, 10, 10]),
        );
    }

    fn cat(&mut self, x: f32, y: f32, s: f32) {
        self.drawn.insert(C::Cat);
        let u = 55.0 * s;
        let c = self.pick(pal::CAT);
        ellipse(&mut self.img, x, y - 0.3 * u, 0.22 * u, 0.3 * u, c);
        let tail = [
            (x + 0.18 * u, y - 0.05 * u),
            (x + 0.4 * u, y - 0.1 * u),
            (x + 0.45 * u, y - 0.4 * u),
        ];
        line(&mut self.img, tail[0], tail[1], (0.06 * u).max(2.0), c);
        line(&mut self.img, tail[1], tail[2], (0.06 * u).max(2.0), c);
        let (hx, hy) = (x, y - 0.72 * u);
        for e in [-1.0, 1.0] {
            poly(
                &mut self.img,
                &[
                    (hx + e * 0.17 * u, hy - 0.02 * u),
                    (hx + e * 0.16 * u, hy - 0.3 * u),
                    (hx + e * 0.03 * u, hy - 0.12 * u),
                ],
                c,
            );
        }
        circle(&mut self.img, hx, hy, 0.17 * u, c);
        for e in [-1.0, 1.0] {
            ellipse(
                &mut self.img,
                hx + e * 0.07 * u,
                hy - 0.02 * u,
                0.035 * u,
                0.05 * u,
                Rgb([90, 200, 90]),
            );
        }
    }

    fn tree(&mut self, x: f32, y: f32, s: f32) {
        self.drawn.insert(C::Tree);
        let u = 150.0 * s;
        let conifer = self.spec.setting == Setting::Snow || self.rng.gen_bool(0.3);
        rect(
            &mut self.img,
            x - 0.04 * u,
            y - 0.4 * u,
            x + 0.04 * u,
            y,
            Rgb([100, 65, 35]),
        );
        let green = self.pick(&[Rgb([40, 120, 50]), Rgb([60, 140, 40]), Rgb([30, 100, 60])]);
        if conifer {
            for i in 0..3 {
                let base = y - 0.2 * u - i as f32 * 0.22 * u;
                let half = (0.32 - i as f32 * 0.07) * u;
                poly(
                    &mut self.img,
                    &[(x - half, base), (x, base - 0.35 * u), (x + half, base)],
                    green,
                );
            }
        } else {
            for (dx, dy, r) in [
                (-0.15, -0.62, 0.2),
                (0.15, -0.62, 0.2),
                (0.0, -0.8, 0.24),
                (0.0, -0.55, 0.2),
            ] {
                circle(
                    &mut self.img,
                    x + dx * u,
                    y + dy * u,
                    r * u,
                    shade(green, 1.0 + dx),
                );
            }
        }
    }

    fn flowers(&mut self, x: f32, y: f32, s: f32) {
        self.drawn.insert(C::Flower);
        let u = 60.0 * s;
        let indoor = self.spec.setting == Setting::Table;
        let petal = self.colour_of(C::Flower, pal::FLOWER);
        let n = self.rng.gen_range(3..6);
        let base = if indoor { y - 0.35 * u } else { y };
        for i in 0..n {
            let fx = x + (i as f32 - (n as f32 - 1.0) / 2.0) * 0.22 * u + self.r(-0.05, 0.05) * u;
            let fy = base - self.r(0.45, 0.8) * u;
            line(
                &mut self.img,
                (fx, fy),
                (x, base),
                (0.03 * u).max(1.0),
                Rgb([50, 130, 50]),
            );
            let pr = 0.07 * u;
            for k in 0..6 {
                let a = k as f32 / 6.0 * std::f32::consts::TAU;
                circle(
                    &mut self.img,
                    fx + a.cos() * pr * 1.3,
                    fy + a.sin() * pr * 1.3,
                    pr,
                    petal,
                );
            }
            circle(&mut self.img, fx, fy, pr * 0.9, Rgb([120, 70, 30]));
        }
        if indoor {
            poly(
                &mut self.img,
                &[
                    (x - 0.15 * u, base),
                    (x + 0.15 * u, base),
                    (x + 0.1 * u, y),
                    (x - 0.1 * u, y),
                ],
                Rgb([70, 110, 160]),
            );
        }
    }

    /// Draws a woman, man or kid; returns where the hands are.
    fn person(&mut self, who: Concept, x: f32, y: f32, s: f32) -> Body {
        self.drawn.insert(who);
        let h = match who {
            C::Man => 120.0,
            C::Woman => 108.0,
            _ => 66.0,
        } * s;
        let skin = self.pick(pal::SKIN);
        let hair = self.pick(pal::HAIR);
        let top = self.pick(pal::CLOTHES);
        let limb = (0.05 * h).max(2.0);
        let head_r = if who == C::Kid { 0.12 * h } else { 0.075 * h };
        let neck = y - h + 2.0 * head_r;
        let shoulder = neck + 0.02 * h;
        let half = match who {
            C::Man => 0.14 * h,
            C::Woman => 0.09 * h,
            _ => 0.12 * h,
        };
        let hand_l = (x - half - 0.06 * h, y - 0.46 * h);
        let hand_r = (x + half + 0.06 * h, y - 0.46 * h);
        let hx = x;
        let hy = y - h + head_r;
        if who == C::Woman {
            ellipse(
                &mut self.img,
                hx,
                hy + head_r * 1.2,
                head_r * 1.3,
                head_r * 2.2,
                hair,
            );
        }
        match who {
            C::Man => {
                let legs = self.pick(pal::TROUSERS);
                let hip = y - 0.47 * h;
                rect(&mut self.img, x - half * 0.85, hip, x - 0.01 * h, y, legs);
                rect(&mut self.img, x + 0.01 * h, hip, x + half * 0.85, y, legs);
                rect(
                    &mut self.img,
                    x - half,
                    shoulder,
                    x + half,
                    hip + 0.02 * h,
                    top,
                );
            }
            C::Woman => {
                let hem = y - 0.3 * h;
                line(
                    &mut self.img,
                    (x - 0.04 * h, hem),
                    (x - 0.04 * h, y),
                    limb,
                    skin,
                );
                line(
                    &mut self.img,
                    (x + 0.04 * h, hem),
                    (x + 0.04 * h, y),
                    limb,
                    skin,
                );
                poly(
                    &mut self.img,
                    &[
                        (x - half, shoulder),
                        (x + half, shoulder),
                        (x + 0.22 * h, hem),
                        (x - 0.22 * h, hem),
                    ],
                    top,
                );
            }
            _ => {
                let hip = y - 0.38 * h;
                let shorts = self.pick(pal::TROUSERS);
                line(
                    &mut self.img,
                    (x - 0.06 * h, hip),
                    (x - 0.06 * h, y),
                    limb * 1.2,
                    skin,
                );
                line(
                    &mut self.img,
                    (x + 0.06 * h, hip),
                    (x + 0.06 * h, y),
                    limb * 1.2,
                    skin,
                );
                rect(
                    &mut self.img,
                    x - half,
                    hip - 0.02 * h,
                    x + half,
                    hip + 0.15 * h,
                    shorts,
                );
                rect(&mut self.img, x - half, shoulder, x + half, hip, top);
                let stripe = shade(top, 0.7);
                rect(
                    &mut self.img,
                    x - half,
                    shoulder + 0.08 * h,
                    x + half,
                    shoulder + 0.11 * h,
                    stripe,
                );
            }
        }
        line(
            &mut self.img,
            (x - half, shoulder + 2.0),
            hand_l,
            limb,
            skin,
        );
        line(
            &mut self.img,
            (x + half, shoulder + 2.0),
            hand_r,
            limb,
            skin,
        );
        circle(&mut self.img, hx, hy, head_r, skin);
        if who != C::Woman {
            poly(
                &mut self.img,
                &arc(
                    hx,
                    hy - head_r * 0.15,
                    head_r * 1.02,
                    head_r * 0.95,
                    std::f32::consts::PI,
                    std::f32::consts::TAU,
                    10,
                ),
                hair,
            );
        } else {
            poly(
                &mut self.img,
                &arc(
                    hx,
                    hy - head_r * 0.2,
                    head_r * 1.1,
                    head_r,
                    std::f32::consts::PI,
                    std::f32::consts::TAU,
                    10,
                ),
                hair,
            );
        }
        Body {
            x,
            foot: y,
            height: h,
            hand_l,
            hand_r,
        }
    }

    fn umbrella_canopy(&mut self, cx: f32, cy: f32, r: f32) {
        self.drawn.insert(C::Umbrella);
        let c = self.colour_of(C::Umbrella, pal::UMBRELLA);
        let striped = self.rng.gen_bool(0.3) && self.yellow != Some(C::Umbrella);
        let n = 6;
        for i in 0..n {
            let a0 = std::f32::consts::PI * (1.0 + i as f32 / n as f32);
            let a1 = std::f32::consts::PI * (1.0 + (i + 1) as f32 / n as f32);
            let mut pts = arc(cx, cy, r, r * 0.75, a0, a1, 4);
            pts.push((cx, cy));
            let col = if striped && i % 2 == 1 {
                Rgb([245, 245, 245])
            } else {
                shade(c, 1.0 - 0.05 * (i % 2) as f32)
            };
            poly(&mut self.img, &pts, col);
        }
        for i in 0..n {
            let a = std::f32::consts::PI * (1.0 + (i as f32 + 0.5) / n as f32);
            ellipse(
                &mut self.img,
                cx + r * 0.93 * a.cos(),
                cy + 0.75 * r * a.sin() + 1.0,
                r / n as f32 * 0.9,
                r * 0.05,
                c,
            );
        }
        line(
            &mut self.img,
            (cx, cy - r * 0.75),
            (cx, cy - r * 0.85),
            2.0,
            Rgb([40, 40, 40]),
        );
    }

    fn umbrella_held(&mut self, b: Body) {
        let (hx, hy) = b.hand_r;
        let r = 0.38 * b.height.max(60.0 * self.w / 300.0);
        let cy = b.foot - b.height - r * 0.1;
        line(&mut self.img, (hx, hy), (hx, cy), 2.0, Rgb([40, 40, 40]));
        self.umbrella_canopy(hx, cy, r);
    }

    fn umbrella_standing(&mut self, x: f32, y: f32, s: f32) {
        let h = 110.0 * s;
        line(
            &mut self.img,
            (x, y),
            (x, y - h),
            (0.03 * h).max(2.0),
            Rgb([60, 60, 60]),
        );
        self.umbrella_canopy(x, y - h, 0.5 * h);
    }

    fn bag(&mut self, at: (f32, f32), s: f32) {
        self.drawn.insert(C::Bag);
        let u = 40.0 * s;
        let c = self.colour_of(C::Bag, pal::BAG);
        let (x, top) = (at.0, at.1 + 0.25 * u);
        let pts = arc(
            x,
            top,
            0.25 * u,
            0.3 * u,
            std::f32::consts::PI,
            std::f32::consts::TAU,
            8,
        );
        for pair in pts.windows(2) {
            line(
                &mut self.img,
                pair[0],
                pair[1],
                (0.07 * u).max(2.0),
                shade(c, 0.7),
            );
        }
        poly(
            &mut self.img,
            &[
                (x - 0.4 * u, top),
                (x + 0.4 * u, top),
                (x + 0.5 * u, top + 0.6 * u),
                (x - 0.5 * u, top + 0.6 * u),
            ],
            c,
        );
        rect(
            &mut self.img,
            x - 0.06 * u,
            top + 0.08 * u,
            x + 0.06 * u,
            top + 0.18 * u,
            Rgb([200, 190, 170]),
        );
    }

    fn skis_worn(&mut self, b: Body) {
        self.drawn.insert(C::Ski);
        let c = self.pick(pal::SKI);
        let u = b.height;
        let t = (0.04 * u).max(2.0);
        for dy in [0.0, 0.03 * u] {
            line(
                &mut self.img,
                (b.x - 0.45 * u, b.foot + dy - 0.02 * u),
                (b.x + 0.45 * u, b.foot + dy + 0.03 * u),
                t,
                c,
            );
        }
        let pole = Rgb([40, 40, 40]);
        line(
            &mut self.img,
            b.hand_l,
            (b.hand_l.0 - 0.2 * u, b.foot + 0.02 * u),
            2.0,
            pole,
        );
        line(
            &mut self.img,
            b.hand_r,
            (b.hand_r.0 + 0.2 * u, b.foot + 0.02 * u),
            2.0,
            pole,
        );
    }

    fn skis_standing(&mut self, x: f32, y: f32, s: f32) {
        self.drawn.insert(C::Ski);
        let c = self.pick(pal::SKI);
        let h = 120.0 * s;
        let t = (0.07 * h).max(3.0);
        line(&mut self.img, (x - 0.2 * h, y), (x + 0.15 * h, y - h), t, c);
        line(
            &mut self.img,
            (x + 0.2 * h, y),
            (x - 0.15 * h, y - h),
            t,
            shade(c, 0.85),
        );
        let pole = Rgb([40, 40, 40]);
        line(
            &mut self.img,
            (x - 0.05 * h, y),
            (x - 0.1 * h, y - 0.9 * h),
            2.0,
            pole,
        );
        line(
            &mut self.img,
            (x + 0.05 * h, y),
            (x + 0.1 * h, y - 0.9 * h),
            2.0,
            pole,
        );
    }

    fn icecream(&mut self, x: f32, y: f32, s: f32) {
        self.drawn.insert(C::Icecream);
        self.drawn.insert(C::Food);
        let u = 55.0 * s;
        let choc = self.spec.has(C::Chocolate);
        let cone_top = y - 0.55 * u;
        poly(
            &mut self.img,
            &[(x - 0.17 * u, cone_top), (x + 0.17 * u, cone_top), (x, y)],
            Rgb([215, 165, 100]),
        );
        for i in 1..4 {
            let f = i as f32 / 4.0;
            let a = (x - 0.17 * u * (1.0 - f), cone_top + 0.55 * u * f);
            line(
                &mut self.img,
                a,
                (x + 0.17 * u * f, cone_top),
                1.0,
                Rgb([170, 120, 70]),
            );
        }
        let scoops = self.rng.gen_range(1..3);
        for k in 0..scoops {
            let c = if choc {
                self.drawn.insert(C::Chocolate);
                shade(pal::CHOCOLATE, self.r(0.9, 1.1))
            } else {
                self.pick(pal::SCOOP)
            };
            let cy = cone_top - 0.08 * u - k as f32 * 0.22 * u;
            circle(&mut self.img, x, cy, 0.19 * u, c);
            ellipse(&mut self.img, x, cone_top - 0.02 * u, 0.2 * u, 0.05 * u, c);
        }
        if self.spec.setting != Setting::Table {
            let skin = self.pick(pal::SKIN);
            ellipse(&mut self.img, x, y - 0.12 * u, 0.15 * u, 0.12 * u, skin);
            rect(
                &mut self.img,
                x - 0.12 * u,
                y - 0.05 * u,
                x + 0.12 * u,
                y + 0.3 * u,
                skin,
            );
        }
    }

    fn cake(&mut self, x: f32, y: f32, s: f32) {
        self.drawn.insert(C::Cake);
        self.drawn.insert(C::Food);
        let u = 90.0 * s;
        let choc = self.spec.has(C::Chocolate);
        let c = if choc {
            self.drawn.insert(C::Chocolate);
            shade(pal::CHOCOLATE, self.r(0.9, 1.1))
        } else {
            self.pick(pal::CAKE)
        };
        ellipse(
            &mut self.img,
            x,
            y - 0.06 * u,
            0.55 * u,
            0.1 * u,
            Rgb([235, 235, 240]),
        );
        let (top, bot) = (y - 0.5 * u, y - 0.1 * u);
        ellipse(&mut self.img, x, bot, 0.42 * u, 0.09 * u, shade(c, 0.85));
        rect(
            &mut self.img,
            x - 0.42 * u,
            top,
            x + 0.42 * u,
            bot,
            shade(c, 0.9),
        );
        let cream = if choc {
            Rgb([70, 40, 22])
        } else {
            Rgb([250, 245, 235])
        };
        rect(
            &mut self.img,
            x - 0.42 * u,
            top + 0.17 * u,
            x + 0.42 * u,
            top + 0.23 * u,
            cream,
        );
        ellipse(&mut self.img, x, top, 0.42 * u, 0.09 * u, shade(c, 1.1));
        for i in 0..self.rng.gen_range(0..4) {
            let cx = x + (i as f32 - 1.0) * 0.18 * u;
            rect(
                &mut self.img,
                cx - 0.015 * u,
                top - 0.2 * u,
                cx + 0.015 * u,
                top,
                Rgb([240, 240, 250]),
            );
            circle(
                &mut self.img,
                cx,
                top - 0.23 * u,
                0.03 * u,
                Rgb([255, 140, 30]),
            );
        }
        for i in 0..3 {
            circle(
                &mut self.img,
                x + (i as f32 - 1.0) * 0.25 * u,
                top + 0.02 * u,
                0.05 * u,
                Rgb([200, 20, 40]),
            );
        }
    }

    fn pizza(&mut self, x: f32, y: f32, s: f32) {
        self.drawn.insert(C::Pizza);
        self.drawn.insert(C::Food);
        let u = 130.0 * s;
        let cy = y - 0.2 * u;
        ellipse(
            &mut self.img,
            x,
            cy + 0.02 * u,
            0.52 * u,
            0.21 * u,
            Rgb([120, 80, 45]),
        );
        ellipse(
            &mut self.img,
            x,
            cy,
            0.48 * u,
            0.19 * u,
            Rgb([215, 160, 90]),
        );
        ellipse(&mut self.img, x, cy, 0.42 * u, 0.16 * u, Rgb([205, 70, 40]));
        for _ in 0..7 {
            let (dx, dy) = (self.r(-0.32, 0.32) * u, self.r(-0.11, 0.11) * u);
            ellipse(
                &mut self.img,
                x + dx,
                cy + dy,
                0.06 * u,
                0.03 * u,
                Rgb([245, 230, 190]),
            );
        }
        for _ in 0..6 {
            let (dx, dy) = (self.r(-0.3, 0.3) * u, self.r(-0.1, 0.1) * u);
            ellipse(
                &mut self.img,
                x + dx,
                cy + dy,
                0.045 * u,
                0.022 * u,
                Rgb([140, 25, 30]),
            );
        }
        for k in 0..4 {
            let a = k as f32 / 4.0 * std::f32::consts::PI;
            let (dx, dy) = (a.cos() * 0.46 * u, a.sin() * 0.18 * u);
            line(
                &mut self.img,
                (x - dx, cy - dy),
                (x + dx, cy + dy),
                1.0,
                Rgb([170, 110, 60]),
            );
        }
    }

    fn wine(&mut self, x: f32, y: f32, s: f32) {
        self.drawn.insert(C::Wine);
        let u = 90.0 * s;
        if self.rng.gen_bool(0.5) {
            let bx = x + 0.3 * u;
            let green = Rgb([30, 60, 35]);
            rect(
                &mut self.img,
                bx - 0.09 * u,
                y - 0.75 * u,
                bx + 0.09 * u,
                y,
                green,
            );
            rect(
                &mut self.img,
                bx - 0.03 * u,
                y - 1.0 * u,
                bx + 0.03 * u,
                y - 0.75 * u,
                green,
            );
            ellipse(&mut self.img, bx, y - 0.75 * u, 0.09 * u, 0.05 * u, green);
            rect(
                &mut self.img,
                bx - 0.09 * u,
                y - 0.5 * u,
                bx + 0.09 * u,
                y - 0.3 * u,
                Rgb([235, 225, 200]),
            );
        }
        let glass = Rgb([215, 225, 235]);
        let wine = Rgb([120, 15, 40]);
        let (rim, bowl) = (y - u, y - 0.55 * u);
        poly(
            &mut self.img,
            &[
                (x - 0.15 * u, rim),
                (x + 0.15 * u, rim),
                (x + 0.13 * u, bowl - 0.1 * u),
                (x, bowl),
                (x - 0.13 * u, bowl - 0.1 * u),
            ],
            glass,
        );
        poly(
            &mut self.img,
            &[
                (x - 0.145 * u, rim + 0.2 * u),
                (x + 0.145 * u, rim + 0.2 * u),
                (x + 0.12 * u, bowl - 0.1 * u),
                (x, bowl - 0.02 * u),
                (x - 0.12 * u, bowl - 0.1 * u),
            ],
            wine,
        );
        line(
            &mut self.img,
            (x, bowl),
            (x, y - 0.03 * u),
            (0.025 * u).max(2.0),
            glass,
        );
        ellipse(&mut self.img, x, y - 0.02 * u, 0.12 * u, 0.03 * u, glass);
    }

    fn coffee(&mut self, x: f32, y: f32, s: f32) {
        self.drawn.insert(C::Coffee);
        let u = 70.0 * s;
        let cup = self.pick(&[
            Rgb([245, 245, 245]),
            Rgb([190, 40, 40]),
            Rgb([40, 70, 150]),
            Rgb([30, 30, 30]),
        ]);
        ellipse(
            &mut self.img,
            x,
            y - 0.04 * u,
            0.45 * u,
            0.09 * u,
            Rgb([240, 240, 240]),
        );
        ring(
            &mut self.img,
            x + 0.3 * u,
            y - 0.32 * u,
            0.1 * u,
            (0.04 * u).max(2.0),
            cup,
        );
        poly(
            &mut self.img,
            &[
                (x - 0.3 * u, y - 0.5 * u),
                (x + 0.3 * u, y - 0.5 * u),
                (x + 0.22 * u, y - 0.1 * u),
                (x - 0.22 * u, y - 0.1 * u),
            ],
            cup,
        );
        ellipse(
            &mut self.img,
            x,
            y - 0.5 * u,
            0.3 * u,
            0.07 * u,
            shade(cup, 0.9),
        );
        ellipse(
            &mut self.img,
            x,
            y - 0.5 * u,
            0.26 * u,
            0.055 * u,
            Rgb([110, 65, 35]),
        );
        ellipse(
            &mut self.img,
            x,
            y - 0.5 * u,
            0.1 * u,
            0.025 * u,
            Rgb([235, 215, 190]),
        );
    }

    /// A generic plate of food (salad or burger): "food" without a named dish.
    fn plate(&mut self, x: f32, y: f32, s: f32) {
        self.drawn.insert(C::Food);
        let u = 110.0 * s;
        let cy = y - 0.15 * u;
        ellipse(
            &mut self.img,
            x,
            cy,
            0.45 * u,
            0.16 * u,
            Rgb([245, 245, 245]),
        );
        if self.rng.gen_bool(0.5) {
            for _ in 0..14 {
                let (dx, dy) = (self.r(-0.3, 0.3) * u, self.r(-0.09, 0.07) * u);
                let c = *[
                    Rgb([60, 150, 50]),
                    Rgb([90, 180, 60]),
                    Rgb([210, 40, 40]),
                    Rgb([240, 130, 40]),
                ]
                .choose(self.rng)
                .unwrap_or(&Rgb([60, 150, 50]));
                ellipse(&mut self.img, x + dx, cy + dy, 0.06 * u, 0.035 * u, c);
            }
        } else {
            let bun = Rgb([205, 140, 65]);
            ellipse(&mut self.img, x, cy - 0.02 * u, 0.22 * u, 0.05 * u, bun);
            rect(
                &mut self.img,
                x - 0.22 * u,
                cy - 0.1 * u,
                x + 0.22 * u,
                cy - 0.04 * u,
                Rgb([90, 50, 30]),
            );
            rect(
                &mut self.img,
                x - 0.24 * u,
                cy - 0.12 * u,
                x + 0.24 * u,
                cy - 0.1 * u,
                Rgb([80, 170, 60]),
            );
            poly(
                &mut self.img,
                &arc(
                    x,
                    cy - 0.12 * u,
                    0.22 * u,
                    0.16 * u,
                    std::f32::consts::PI,
                    std::f32::consts::TAU,
                    10,
                ),
                bun,
            );
        }
    }

    fn snowflakes(&mut self) {
        for _ in 0..60 {
            let (x, y) = (self.r(0.0, self.w), self.r(0.0, self.w));
            circle(&mut self.img, x, y, 1.0, Rgb([250, 250, 255]));
        }
    }

    // ----- light, weather, noise ---------------------------------------------------------

    /// Per-channel gain for the time of day and weather, with a random exposure.
    fn gains(&mut self) -> [f32; 3] {
        let s = self.spec;
        let base = if s.setting == Setting::Table {
            [1.0, 0.97, 0.9]
        } else if s.has(C::Night) {
            [0.33, 0.36, 0.5]
        } else if s.has(C::Sunrise) {
            [1.05, 0.95, 0.85]
        } else if s.has(C::Sunset) {
            [1.0, 0.85, 0.7]
        } else if s.has(C::Rain) {
            [0.8, 0.82, 0.88]
        } else {
            [1.0, 1.0, 1.0]
        };
        let exposure = self.r(0.9, 1.1);
        base.map(|g| g * exposure * self.r(0.97, 1.03))
    }

    fn lighting(&mut self) {
        let g = self.gains();
        for px in self.img.pixels_mut() {
            for (v, gain) in px.0.iter_mut().zip(g) {
                *v = (f32::from(*v) * gain).min(255.0) as u8;
            }
        }
    }

    fn night_lights(&mut self) {
        if !self.spec.has(C::Night) {
            return;
        }
        for _ in 0..40 {
            let (x, y) = (self.r(0.0, self.w), self.r(0.0, self.horizon * 0.7));
            let px = Rgb([230, 230, 240]);
            circle(&mut self.img, x, y, 0.5, px);
        }
        let (mx, my) = (self.r(0.1, 0.9) * self.w, self.r(0.08, 0.2) * self.w);
        circle(&mut self.img, mx, my, self.w * 0.04, Rgb([240, 240, 220]));
        let warm = Rgb([255, 215, 130]);
        for l in std::mem::take(&mut self.lights) {
            match l {
                Light::Window(x0, y0, x1, y1) => rect(
                    &mut self.img,
                    x0,
                    y0,
                    x1,
                    y1,
                    shade(warm, self.rng.gen_range(0.7..1.0)),
                ),
                Light::Headlight(x, y, r) => circle(&mut self.img, x, y, r, Rgb([255, 250, 235])),
                Light::Lamp(x, y, r) => {
                    circle(&mut self.img, x, y, r, mix(warm, Rgb([255, 255, 255]), 0.5))
                }
            }
        }
    }

    fn rain(&mut self) {
        if !self.spec.has(C::Rain) {
            return;
        }
        self.drawn.insert(C::Rain);
        let c = if self.spec.has(C::Night) {
            Rgb([110, 120, 140])
        } else {
            Rgb([200, 205, 220])
        };
        let len = self.w * 0.06;
        for _ in 0..140 {
            let (x, y) = (self.r(-0.1, 1.0) * self.w, self.r(-0.1, 1.0) * self.w);
            line(&mut self.img, (x, y), (x + len * 0.3, y + len), 1.0, c);
        }
    }

    /// Adds uniform noise in `-amp..=amp` to every channel (xorshift, seeded from the scene RNG).
    fn noise(&mut self, amp: u8) {
        if amp == 0 {
            return;
        }
        let mut state: u64 = self.rng.gen::<u64>() | 1;
        let span = 2 * u64::from(amp) + 1;
        for v in self.img.iter_mut() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let n = (state % span) as i32 - i32::from(amp);
            *v = (i32::from(*v) + n).clamp(0, 255) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::concept::sample_scene;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn renders_every_concept_it_is_asked_for() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        for _ in 0..300 {
            let spec = sample_scene(&mut rng, 2, 4, 0.45);
            let out = render(&spec, 120, 4, &mut rng);
            assert_eq!(out.image.dimensions(), (120, 120));
            assert_eq!(out.concepts, spec.concepts, "{spec:?}");
        }
    }
}
