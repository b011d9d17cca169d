//! People (men, women, kids) and what they carry: umbrellas, bags, skis.

use super::*;

impl<R: Rng> Painter<'_, R> {
    /// Draws a woman, man or kid; returns where the hands are.
    pub(super) fn person(&mut self, who: Concept, x: f32, y: f32, s: f32) -> Body {
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

    pub(super) fn umbrella_canopy(&mut self, cx: f32, cy: f32, r: f32) {
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
                pal::UMBRELLA_STRIPE
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
            pal::UMBRELLA_SHAFT,
        );
    }

    pub(super) fn umbrella_held(&mut self, b: Body) {
        let (hx, hy) = b.hand_r;
        let r = 0.38 * b.height.max(60.0 * self.w / 300.0);
        let cy = b.foot - b.height - r * 0.1;
        line(&mut self.img, (hx, hy), (hx, cy), 2.0, pal::UMBRELLA_SHAFT);
        self.umbrella_canopy(hx, cy, r);
    }

    pub(super) fn umbrella_standing(&mut self, x: f32, y: f32, s: f32) {
        let h = 110.0 * s;
        line(
            &mut self.img,
            (x, y),
            (x, y - h),
            (0.03 * h).max(2.0),
            pal::UMBRELLA_STAND,
        );
        self.umbrella_canopy(x, y - h, 0.5 * h);
    }

    pub(super) fn bag(&mut self, at: (f32, f32), s: f32) {
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
            pal::BAG_TRIM,
        );
    }

    pub(super) fn skis_worn(&mut self, b: Body) {
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
        let pole = pal::SKI_POLE;
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

    pub(super) fn skis_standing(&mut self, x: f32, y: f32, s: f32) {
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
        let pole = pal::SKI_POLE;
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
}
