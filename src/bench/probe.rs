//! Roofline probes: each backend's measured peak arithmetic rate and memory bandwidth, from
//! small kernels that do nothing else. On the CPU: independent multiply-add chains on every
//! thread (AVX2 FMA when the CPU has it) and a parallel sum over a buffer far larger than the
//! caches. On wgpu: a WGSL kernel of independent `fma` chains and one streaming through a
//! device buffer, timed end to end like every benchmarked launch.

use std::time::Instant;

use rayon::prelude::*;

#[cfg(feature = "wgpu")]
use crosscheck_kernels::WgpuBackend;

/// A backend's measured roofline.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Roofline {
    /// Peak f32 multiply-add rate, GFLOP/s (a multiply-add counts two).
    pub gflops: f64,
    /// Peak read bandwidth, GB/s.
    pub gbps: f64,
}

impl Roofline {
    /// The attainable rate for a kernel of arithmetic intensity `flops / bytes`:
    /// min(peak compute, intensity × bandwidth), in GFLOP/s.
    pub fn attainable(&self, flops: f64, bytes: f64) -> f64 {
        self.gflops.min(flops / bytes * self.gbps)
    }
}

/// The CPU's roofline, measured on every rayon thread.
pub fn cpu() -> Roofline {
    let threads = rayon::current_num_threads();
    // Compute: best of three rounds of 2^26 multiply-adds per thread on 64 independent lanes.
    let rounds = 1usize << 20;
    let mut gflops: f64 = 0.0;
    for _ in 0..3 {
        let started = Instant::now();
        let sums: f32 = (0..threads)
            .into_par_iter()
            .map(|t| fma_chains(rounds, t as f32))
            .sum();
        let seconds = started.elapsed().as_secs_f64();
        std::hint::black_box(sums);
        gflops = gflops.max((threads * rounds * 64 * 2) as f64 / seconds / 1e9);
    }
    // Bandwidth: best of three parallel sums over 512 MiB.
    let data = vec![1.0f32; 128 << 20];
    let mut gbps: f64 = 0.0;
    for _ in 0..3 {
        let started = Instant::now();
        let sum: f32 = data.par_chunks(1 << 16).map(sum_lanes).sum();
        let seconds = started.elapsed().as_secs_f64();
        std::hint::black_box(sum);
        gbps = gbps.max((data.len() * 4) as f64 / seconds / 1e9);
    }
    Roofline { gflops, gbps }
}

/// `rounds` steps of 64 independent multiply-add chains.
fn fma_chains(rounds: usize, seed: f32) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the features were just detected.
        return unsafe { fma_chains_avx2(rounds, seed) };
    }
    let mut acc = [seed; 64];
    let (m, c) = (
        std::hint::black_box(0.999_999f32),
        std::hint::black_box(1e-7f32),
    );
    for _ in 0..rounds {
        for a in &mut acc {
            *a = *a * m + c;
        }
    }
    acc.iter().sum()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn fma_chains_avx2(rounds: usize, seed: f32) -> f32 {
    use std::arch::x86_64::*;
    let m = _mm256_set1_ps(std::hint::black_box(0.999_999));
    let c = _mm256_set1_ps(std::hint::black_box(1e-7));
    let mut acc = [_mm256_set1_ps(seed); 8];
    for _ in 0..rounds {
        for a in &mut acc {
            *a = _mm256_fmadd_ps(*a, m, c);
        }
    }
    let mut lanes = [0.0f32; 8];
    let mut total = 0.0;
    for a in acc {
        // SAFETY: `lanes` holds exactly eight f32.
        unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), a) };
        total += lanes.iter().sum::<f32>();
    }
    total
}

/// Sum with 16 independent accumulators (vectorisable).
fn sum_lanes(chunk: &[f32]) -> f32 {
    let mut acc = [0.0f32; 16];
    for block in chunk.chunks_exact(16) {
        for (a, x) in acc.iter_mut().zip(block) {
            *a += x;
        }
    }
    acc.iter().sum()
}

#[cfg(feature = "wgpu")]
const FMA_PROBE: &str = r#"
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<uniform> params: vec4<u32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let x = f32(gid.x) * 1e-9;
    var a0 = vec4<f32>(x); var a1 = a0 + 1.0; var a2 = a0 + 2.0; var a3 = a0 + 3.0;
    var a4 = a0 + 4.0; var a5 = a0 + 5.0; var a6 = a0 + 6.0; var a7 = a0 + 7.0;
    let m = vec4<f32>(0.999999);
    let c = vec4<f32>(1e-7);
    for (var i = 0u; i < params.x; i++) {
        a0 = fma(a0, m, c); a1 = fma(a1, m, c); a2 = fma(a2, m, c); a3 = fma(a3, m, c);
        a4 = fma(a4, m, c); a5 = fma(a5, m, c); a6 = fma(a6, m, c); a7 = fma(a7, m, c);
    }
    let s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
    out[gid.x] = s.x + s.y + s.z + s.w;
}
"#;

#[cfg(feature = "wgpu")]
const READ_PROBE: &str = r#"
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<uniform> params: vec4<u32>;
@group(0) @binding(2) var<storage, read_write> data: array<vec4<f32>>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let stride = groups.x * 64u;
    var s = vec4<f32>(0.0);
    for (var round = 0u; round < params.y; round++) {
        for (var i = gid.x; i < params.x; i += stride) {
            s += data[i];
        }
    }
    out[gid.x] = s.x + s.y + s.z + s.w;
}
"#;

/// A wgpu backend's roofline. Each probe grows (loop trips, then workgroups, staying under
/// llvmpipe's 65,535-iteration loop limit) until one launch takes at least 0.2 s.
#[cfg(feature = "wgpu")]
pub fn wgpu(backend: &WgpuBackend) -> Result<Roofline, String> {
    let (mut groups, mut iterations): (u32, u32) = (512, 256);
    let mut gflops: f64 = 0.0;
    loop {
        let mut out = vec![0u8; groups as usize * 64 * 4];
        let params = [iterations, 0, 0, 0].map(u32::to_le_bytes).concat();
        let t = backend
            .run_wgsl(
                "fma probe",
                FMA_PROBE,
                &[],
                &mut out,
                &params,
                &[],
                [groups, 1, 1],
            )
            .map_err(|e| e.to_string())?
            .as_secs_f64();
        let flops = f64::from(groups) * 64.0 * f64::from(iterations) * 8.0 * 4.0 * 2.0;
        gflops = gflops.max(flops / t / 1e9);
        if t > 0.2 {
            break;
        } else if iterations < 16384 {
            iterations *= 4;
        } else if groups < 16384 {
            groups *= 4;
        } else {
            break;
        }
    }
    let (groups, vec4s): (u32, u32) = (512, 4 << 20); // 64 MiB
    let mut out = vec![0u8; groups as usize * 64 * 4];
    let mut passes: u32 = 1;
    let mut gbps: f64 = 0.0;
    loop {
        let params = [vec4s, passes, 0, 0].map(u32::to_le_bytes).concat();
        let t = backend
            .run_wgsl(
                "read probe",
                READ_PROBE,
                &[],
                &mut out,
                &params,
                &[u64::from(vec4s) * 16],
                [groups, 1, 1],
            )
            .map_err(|e| e.to_string())?
            .as_secs_f64();
        gbps = gbps.max(f64::from(vec4s) * 16.0 * f64::from(passes) / t / 1e9);
        if t > 0.2 || passes >= 4096 {
            break;
        }
        passes *= 4;
    }
    Ok(Roofline { gflops, gbps })
}
