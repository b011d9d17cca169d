//! Animals: dogs and cats.

use super::*;

impl<R: Rng> Painter<'_, R> {
    pub(super) fn dog(&mut self, x: f32, y: f32, s: f32, dir: f32) {
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
            pal::DOG_NOSE,
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
            pal::DOG_EYE,
        );
    }

    pub(super) fn cat(&mut self, x: f32, y: f32, s: f32) {
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
                pal::CAT_EYE,
            );
        }
    }
}
