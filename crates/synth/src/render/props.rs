//! The setting's fixtures: grass, bushes, benches and lamps of parks, the indoor table and its
//! cloth, trees and flowers.

use super::*;

impl<R: Rng> Painter<'_, R> {
    pub(super) fn grass(&mut self) {
        let (w, hz) = (self.w, self.horizon);
        for _ in 0..120 {
            let (x, y) = (self.r(0.0, w), self.r(hz + 4.0, w));
            let h = 2.0 + (y - hz) / w * 12.0;
            line(
                &mut self.img,
                (x, y),
                (x + 1.0, y - h),
                1.0,
                pal::GRASS_BLADE,
            );
        }
    }

    pub(super) fn bushes(&mut self) {
        let n = self.rng.gen_range(2..6);
        for _ in 0..n {
            let x = self.r(0.0, self.w);
            let r = self.r(0.04, 0.08) * self.w;
            ellipse(&mut self.img, x, self.horizon, r * 1.4, r, pal::BUSH);
        }
    }

    pub(super) fn bench(&mut self) {
        let x = self.r(0.1, 0.8) * self.w;
        let y = self.horizon + (self.w - self.horizon) * 0.25;
        let bw = self.w * 0.16;
        let wood = pal::BENCH_WOOD;
        rect(&mut self.img, x, y - bw * 0.25, x + bw, y - bw * 0.2, wood);
        rect(&mut self.img, x, y - bw * 0.4, x + bw, y - bw * 0.33, wood);
        line(
            &mut self.img,
            (x + 3.0, y - bw * 0.2),
            (x + 3.0, y),
            2.0,
            pal::BENCH_LEG,
        );
        line(
            &mut self.img,
            (x + bw - 3.0, y - bw * 0.2),
            (x + bw - 3.0, y),
            2.0,
            pal::BENCH_LEG,
        );
    }

    pub(super) fn lamp(&mut self) {
        let x = self.r(0.05, 0.95) * self.w;
        let y = self.horizon + (self.w - self.horizon) * 0.2;
        let h = self.w * 0.35;
        line(&mut self.img, (x, y), (x, y - h), 3.0, pal::LAMP_POST);
        line(
            &mut self.img,
            (x, y - h),
            (x + h * 0.15, y - h),
            3.0,
            pal::LAMP_POST,
        );
        circle(
            &mut self.img,
            x + h * 0.15,
            y - h + 3.0,
            3.0,
            pal::LAMP_GLOBE,
        );
        self.lights
            .push(Light::Lamp(x + h * 0.15, y - h + 3.0, self.w * 0.03));
    }

    pub(super) fn indoor(&mut self) {
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
                pal::DARK_WOOD,
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

    pub(super) fn checks(&mut self, top: f32) {
        let step = self.w / 10.0;
        let red = pal::TABLECLOTH_RED;
        for j in 0..10 {
            for i in 0..10 {
                let (x, y) = (i as f32 * step, top + j as f32 * step * 0.6);
                if (i + j) % 2 == 0 && y < self.w {
                    rect(&mut self.img, x, y, x + step, y + step * 0.6, red);
                }
            }
        }
    }

    pub(super) fn tree(&mut self, x: f32, y: f32, s: f32) {
        self.drawn.insert(C::Tree);
        let u = 150.0 * s;
        let conifer = self.spec.setting == Setting::Snow || self.rng.gen_bool(0.3);
        rect(
            &mut self.img,
            x - 0.04 * u,
            y - 0.4 * u,
            x + 0.04 * u,
            y,
            pal::TREE_TRUNK,
        );
        let green = self.pick(&[pal::FOLIAGE_DARK, pal::FOLIAGE_LIGHT, pal::FOLIAGE_BLUE]);
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

    pub(super) fn flowers(&mut self, x: f32, y: f32, s: f32) {
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
                pal::FLOWER_STEM,
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
            circle(&mut self.img, fx, fy, pr * 0.9, pal::FLOWER_CENTRE);
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
                pal::FLOWER_POT,
            );
        }
    }
}
