//! The background of an outdoor scene: the sky by time of day (sun, clouds, mountains, skyline) and
//! the ground by setting (street, park, beach, snow).

use super::*;

impl<R: Rng> Painter<'_, R> {
    pub(super) fn background(&mut self) {
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

    pub(super) fn sky(&mut self) {
        let s = self.spec;
        let (top, bottom) = if s.has(C::Night) {
            self.drawn.insert(C::Night);
            (pal::SKY_NIGHT_TOP, pal::SKY_NIGHT_BOTTOM)
        } else if s.has(C::Sunrise) {
            self.drawn.insert(C::Sunrise);
            (pal::SKY_SUNRISE_TOP, pal::SKY_SUNRISE_BOTTOM)
        } else if s.has(C::Sunset) {
            self.drawn.insert(C::Sunset);
            (pal::SKY_SUNSET_TOP, pal::SKY_SUNSET_BOTTOM)
        } else if s.has(C::Rain) {
            (pal::SKY_RAIN_TOP, pal::SKY_RAIN_BOTTOM)
        } else {
            (pal::SKY_DAY_TOP, pal::SKY_DAY_BOTTOM)
        };
        let h = self.horizon as u32 + 1;
        vgradient(&mut self.img, 0, h, top, bottom);
        if s.has(C::Sunrise) || s.has(C::Sunset) {
            let x = self.r(0.2, 0.8) * self.w;
            let r = self.r(0.07, 0.11) * self.w;
            let c = if s.has(C::Sunrise) {
                pal::SUN_RISING
            } else {
                pal::SUN_SETTING
            };
            circle(&mut self.img, x, self.horizon, r, c);
        } else if !s.has(C::Night) && !s.has(C::Rain) {
            self.clouds();
        }
    }

    pub(super) fn clouds(&mut self) {
        let n = self.rng.gen_range(0..4);
        for _ in 0..n {
            let (x, y) = (self.r(0.0, self.w), self.r(0.05, 0.3) * self.w);
            let r = self.r(0.03, 0.06) * self.w;
            for i in 0..3 {
                let dx = (i as f32 - 1.0) * r;
                ellipse(&mut self.img, x + dx, y, r * 1.1, r * 0.7, pal::CLOUD);
            }
        }
    }

    pub(super) fn mountains(&mut self) {
        let n = self.rng.gen_range(2..5);
        for _ in 0..n {
            let x = self.r(-0.1, 1.1) * self.w;
            let h = self.r(0.12, 0.25) * self.w;
            let half = h * self.r(1.0, 1.8);
            let hz = self.horizon + 1.0;
            let grey = self.pick(&[pal::MOUNTAIN]);
            poly(
                &mut self.img,
                &[(x - half, hz), (x, hz - h), (x + half, hz)],
                grey,
            );
            let cap = pal::SNOW_CAP;
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

    pub(super) fn skyline(&mut self) {
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

    pub(super) fn windows(&mut self, x: f32, top: f32, bw: f32, night: bool) {
        let step = (self.w * 0.025).max(3.0);
        let dark = pal::WINDOW_DARK;
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

    pub(super) fn ground(&mut self) {
        let (w, hz) = (self.w, self.horizon);
        match self.spec.setting {
            Setting::Street => {
                vgradient(
                    &mut self.img,
                    hz as u32,
                    (hz + (w - hz) * 0.2) as u32,
                    pal::PAVEMENT_FAR,
                    pal::PAVEMENT_NEAR,
                );
                let road = hz + (w - hz) * 0.2;
                vgradient(
                    &mut self.img,
                    road as u32,
                    w as u32,
                    pal::ROAD_FAR,
                    pal::ROAD_NEAR,
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
                        pal::ROAD_MARKING,
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
                    pal::GRASS_FAR,
                    pal::GRASS_NEAR,
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
                    pal::SEA_FAR,
                    pal::SEA_NEAR,
                );
                for _ in 0..8 {
                    let y = self.r(hz + 3.0, self.sea);
                    let x = self.r(0.0, w);
                    line(&mut self.img, (x, y), (x + w * 0.1, y), 1.0, pal::WAVE);
                }
                vgradient(
                    &mut self.img,
                    self.sea as u32,
                    w as u32,
                    pal::SAND_FAR,
                    pal::SAND_NEAR,
                );
                ellipse(
                    &mut self.img,
                    w / 2.0,
                    self.sea,
                    w * 0.8,
                    w * 0.012,
                    pal::SEA_FOAM,
                );
            }
            Setting::Snow => {
                self.drawn.insert(C::Snow);
                vgradient(
                    &mut self.img,
                    hz as u32,
                    w as u32,
                    pal::SNOW_FAR,
                    pal::SNOW_NEAR,
                );
                for _ in 0..5 {
                    let (x, y) = (self.r(0.0, w), self.r(hz + 10.0, w));
                    ellipse(&mut self.img, x, y, w * 0.15, w * 0.015, pal::SNOW_SHADOW);
                }
            }
            Setting::Table => {}
        }
    }
}
