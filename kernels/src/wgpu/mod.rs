//! The wgpu backends: every adapter wgpu finds (Vulkan, GL, Metal, DX12) is its own backend,
//! running the WGSL kernels in f32, f16 (packed in u32, or native where SHADER_F16 exists) and bf16.

mod attention;
mod discover;
mod gpu;
mod indexer;
mod matmul;
mod mla;
mod moe;
mod quant;
mod raw;
mod registry;
mod sparse;
mod storage;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crosscheck_spec::{
    Arithmetic, Backend, DeviceInfo, ElementRounding, FunctionAccuracy, HostTensor, KernelError,
    KernelId, KernelInfo, NonFinite, NumericContract, Op, OutputBuffer, OutputRounding, Path,
    Precision, Problem, ScaleRule, Subnormals, Variant, VariantInfo,
};

pub use crate::MissingApi;
pub use discover::{Discovery, discover};
use gpu::Gpu;
use registry::{KERNELS, LaunchPlan, WgslKernel};

/// Environment variable listing adapter-name substrings (comma-separated, case-insensitive)
/// declared IEEE devices; unset means [`DEFAULT_IEEE_ADAPTERS`], empty means none.
pub const IEEE_ADAPTERS_VAR: &str = "CROSSCHECK_WGPU_IEEE";

/// Adapters declared IEEE unless [`IEEE_ADAPTERS_VAR`] says otherwise: Mesa's llvmpipe, whose
/// round-to-nearest arithmetic and IEEE NaN and infinities the soak records (docs/soak.md).
pub const DEFAULT_IEEE_ADAPTERS: &[&str] = &["llvmpipe"];

/// The adapter-name substrings declared IEEE devices.
pub fn ieee_adapters() -> Vec<String> {
    match std::env::var(IEEE_ADAPTERS_VAR) {
        Ok(list) => list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        Err(_) => DEFAULT_IEEE_ADAPTERS
            .iter()
            .map(|s| s.to_string())
            .collect(),
    }
}

/// A text patch applied to a kernel's assembled WGSL module before compilation.
pub type Patch = Arc<dyn Fn(&str) -> String + Send + Sync>;

/// Compiled pipelines (one per pass) by (kernel, variant).
type PipelineCache = Arc<Mutex<HashMap<(KernelId, Variant), Arc<Vec<wgpu::ComputePipeline>>>>>;

/// Room left for the harness's guard region when checking binding sizes.
const GUARD_ALLOWANCE: u64 = 4096;

/// One wgpu adapter as a crosscheck backend.
#[derive(Clone)]
pub struct WgpuBackend {
    name: String,
    gpu: Arc<Gpu>,
    patches: Vec<(KernelId, Patch)>,
    pipelines: PipelineCache,
}

impl WgpuBackend {
    fn new(name: String, gpu: Gpu) -> Self {
        WgpuBackend {
            name,
            gpu: Arc::new(gpu),
            patches: Vec::new(),
            pipelines: Default::default(),
        }
    }

    /// The adapter behind this backend.
    pub fn adapter_info(&self) -> &wgpu::AdapterInfo {
        &self.gpu.info
    }

    /// A copy of this backend (same device) whose `kernel` module (e.g. `attention/flash`) is
    /// rewritten by `patch` before compilation: how tests and the mutation
    /// catalogue run a deliberately broken shader.
    pub fn with_patch(
        &self,
        kernel: KernelId,
        patch: impl Fn(&str) -> String + Send + Sync + 'static,
    ) -> WgpuBackend {
        let mut patched = self.clone();
        patched.patches.push((kernel, Arc::new(patch)));
        patched.pipelines = Default::default();
        patched
    }

    /// The complete WGSL module compiled for `kernel` in `variant`, patches applied:
    /// generated storage prelude followed by the kernel body.
    pub fn module_source(&self, kernel: &KernelId, variant: Variant) -> Option<String> {
        let k = KERNELS.iter().find(|k| id(k) == *kernel)?;
        let mut source = k.module(variant);
        for (_, patch) in self.patches.iter().filter(|(id, _)| id == kernel) {
            source = patch(&source);
        }
        Some(source)
    }

    /// Every (kernel, variant, module) this backend would compile, for shader validation tools.
    pub fn modules() -> Vec<(KernelId, Variant, String)> {
        KERNELS
            .iter()
            .flat_map(|k| k.variants.iter().map(move |&v| (id(k), v, k.module(v))))
            .collect()
    }

    /// Every (op, kernel name, variant) a wgpu backend lists, known without an adapter: the cells
    /// an API that is missing would have had (some may be unavailable on a given adapter).
    pub fn kernel_variants() -> Vec<(Op, &'static str, Variant)> {
        KERNELS
            .iter()
            .flat_map(|k| k.variants.iter().map(move |&v| (k.op, k.name, v)))
            .collect()
    }

    fn kernel(&self, name: &str, problem: &Problem) -> Result<&'static WgslKernel, KernelError> {
        KERNELS
            .iter()
            .find(|k| k.name == name && k.op == problem.op())
            .ok_or_else(|| {
                KernelError::Unsupported(format!(
                    "{} has no {} kernel `{name}`",
                    self.name,
                    problem.op()
                ))
            })
    }

    /// True when this adapter is declared an IEEE device ([`ieee_adapters`]): its arithmetic
    /// rounds to nearest and its NaN and infinities follow IEEE, beyond what WGSL promises.
    pub fn declared_ieee(&self) -> bool {
        let name = self.gpu.info.name.to_lowercase();
        ieee_adapters()
            .iter()
            .any(|pattern| name.contains(&pattern.to_lowercase()))
    }

    fn contract(&self, kernel: &WgslKernel, variant: Variant) -> NumericContract {
        let ieee = self.declared_ieee();
        // The K-quant quantizer does every f32 operation in integer arithmetic
        // (softfloat.wgsl), so it promises IEEE NaN and ∞ and kept subnormals on any device: a
        // mismatch on a special or subnormal super-block is a failure, not a finding.
        let integer_ieee = kernel.op == Op::Quantize && kernel.name == "kquant";
        NumericContract {
            // The MX quantizers named after a scale rule pick their scales by it, the others
            // by OCP's floor; every one rounds elements to nearest even.
            scale_rule: match (kernel.op, kernel.name) {
                (Op::Quantize, "mx-ceil") => ScaleRule::Ceil,
                (Op::Quantize, "mx-even") => ScaleRule::Even,
                (Op::Quantize, "mx-rceil") => ScaleRule::Rceil,
                _ => ScaleRule::Floor,
            },
            element_rounding: ElementRounding::Even,
            // WGSL lets an implementation round each operation either way and assume finite
            // math; an adapter declared IEEE is held to round-to-nearest and IEEE specials.
            arithmetic: if ieee {
                Arithmetic::Nearest
            } else {
                Arithmetic::Faithful
            },
            non_finite: if ieee || integer_ieee {
                NonFinite::Ieee
            } else {
                NonFinite::FiniteOnly
            },
            accumulator: kernel.accumulator,
            // WGSL leaves the rounding of f32 → f16 conversions to the implementation; bf16 is
            // rounded by our own integer code, and f32 outputs are the accumulator itself.
            output_rounding: match variant.precision {
                Precision::F16 => OutputRounding::Faithful,
                Precision::F32 | Precision::BF16 | Precision::U8 => OutputRounding::NearestEven,
            },
            subnormals: if integer_ieee {
                Subnormals::Preserved
            } else {
                Subnormals::MayFlush
            },
            functions: FunctionAccuracy::WGSL,
            softmax: kernel.softmax,
            deterministic: true,
            batch_invariant: true,
            // Query rows walk their visible keys from the first, in the same tiles whatever
            // the launch's key count.
            chunk_invariant: matches!(kernel.op, Op::Attention | Op::Mla),
            // The same walk: attention/splitkv and mla/splitkv cut a row's visible keys into
            // splits counted from its first, so the launch's key count (or the block table's
            // room) does not move them.
            split_invariant: matches!(kernel.op, Op::Attention | Op::Mla),
            // The K-quant matmul dequantizes each weight and sums in the naive matmul's order;
            // the other fused kernels scale per block and differ (the matrix shows it). The
            // naive MoE kernels run the naive matmul's loop (`acc = acc + a * b` in increasing
            // k from 0) per expert, and the routed one `acc = acc + weight * dot` over the
            // slots in order, as the combining matmul does; the tiled ones are not declared
            // (vectorised register blocks, and routed/tiled sums k in chunks of 256).
            matches_unfused: (kernel.op == Op::QuantMatmul && kernel.name == "kquant")
                || (matches!(kernel.op, Op::MoeContiguous | Op::MoeMasked | Op::MoeRouted)
                    && kernel.name == "naive"),
        }
    }

    fn unavailable(&self, variant: Variant) -> Option<String> {
        (variant.path == Path::Native && !self.gpu.has_f16)
            .then(|| "adapter lacks SHADER_F16, needed by WGSL `enable f16;`".to_string())
    }

    fn pipeline(
        &self,
        kernel: &WgslKernel,
        variant: Variant,
    ) -> Result<Arc<Vec<wgpu::ComputePipeline>>, KernelError> {
        let mut cache = self.pipelines.lock().unwrap_or_else(|e| e.into_inner());
        let key = (id(kernel), variant);
        if let Some(p) = cache.get(&key) {
            return Ok(p.clone());
        }
        let source = self
            .module_source(&key.0, variant)
            .expect("kernel is registered");
        let name = format!("{} {variant}", key.0);
        let storage = kernel.inputs.len() + 1;
        let pipeline = Arc::new(self.gpu.compile(
            &name,
            &source,
            kernel.entry_points,
            storage,
            kernel.scratch.len(),
        )?);
        cache.insert(key, pipeline.clone());
        Ok(pipeline)
    }

    /// The launch for `problem`, checked against the kernel's and the device's limits.
    fn plan(
        &self,
        kernel: &WgslKernel,
        variant: Variant,
        problem: &Problem,
    ) -> Result<LaunchPlan, KernelError> {
        let plan = kernel
            .launch
            .plan(problem, variant)
            .map_err(KernelError::Unsupported)?;
        let limits = &self.gpu.limits;
        let max_binding = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        // (name, elements, bytes) of every binding.
        let out_precision = problem.output_precision(variant);
        let buffers = problem
            .input_specs()
            .into_iter()
            .map(|spec| {
                let count = spec.shape.iter().product::<usize>() as u64;
                (
                    spec.name,
                    count,
                    count * spec.storage.precision(variant).bytes() as u64,
                )
            })
            .chain([{
                let count = problem.output_len() as u64;
                (
                    "output",
                    count,
                    count * out_precision.bytes() as u64 + GUARD_ALLOWANCE,
                )
            }])
            .chain(
                plan.scratch
                    .iter()
                    .map(|&bytes| ("scratch", bytes / 4, bytes)),
            );
        for (name, count, bytes) in buffers {
            // WGSL indexes elements with u32.
            if bytes > max_binding || count > u32::MAX as u64 {
                return Err(KernelError::Unsupported(format!(
                    "{name} needs {bytes} bytes ({count} elements); {} binds at most {max_binding} bytes and indexes with u32",
                    self.name
                )));
            }
        }
        if let Some(limit) = self
            .gpu
            .loop_limit
            .filter(|&limit| plan.loop_iterations > limit)
        {
            return Err(KernelError::Unsupported(format!(
                "{} ends a shader invocation after {limit} loop iterations; this launch needs up to {} per invocation",
                self.gpu.info.name, plan.loop_iterations
            )));
        }
        let max_groups = limits.max_compute_workgroups_per_dimension as usize;
        if let Some(grid) = plan
            .passes
            .iter()
            .find(|grid| grid.iter().any(|&g| g > max_groups))
        {
            return Err(KernelError::Unsupported(format!(
                "launch needs {grid:?} workgroups; {} allows at most {max_groups} per dimension",
                self.name
            )));
        }
        if plan.passes.len() != kernel.entry_points.len() {
            return Err(KernelError::Unsupported(format!(
                "launch plans {} passes for {} entry points",
                plan.passes.len(),
                kernel.entry_points.len()
            )));
        }
        Ok(plan)
    }
}

/// The id of a registered kernel.
fn id(kernel: &WgslKernel) -> KernelId {
    KernelId::fixed(kernel.op, kernel.name)
}

impl Backend for WgpuBackend {
    fn name(&self) -> &str {
        &self.name
    }

    fn device(&self) -> DeviceInfo {
        let info = &self.gpu.info;
        let driver = [info.driver.as_str(), info.driver_info.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(", ");
        DeviceInfo {
            api: discover::api_name(info.backend).to_string(),
            device: info.name.clone(),
            driver,
        }
    }

    fn kernels(&self) -> Vec<KernelInfo> {
        KERNELS
            .iter()
            .map(|k| KernelInfo {
                op: k.op,
                name: k.name.to_string(),
                summary: k.summary.to_string(),
                variants: k
                    .variants
                    .iter()
                    .map(|&v| VariantInfo {
                        variant: v,
                        contract: self.contract(k, v),
                        unavailable: self.unavailable(v),
                    })
                    .collect(),
            })
            .collect()
    }

    fn check(&self, kernel: &str, variant: Variant, problem: &Problem) -> Result<(), KernelError> {
        problem.validate()?;
        let k = self.kernel(kernel, problem)?;
        if !k.variants.contains(&variant) {
            return Err(KernelError::Unsupported(format!(
                "{} is not built for {variant}",
                k.name
            )));
        }
        if let Some(reason) = self.unavailable(variant) {
            return Err(KernelError::Unsupported(reason));
        }
        self.plan(k, variant, problem).map(|_| ())
    }

    fn run(
        &self,
        kernel: &str,
        variant: Variant,
        problem: &Problem,
        inputs: &[&HostTensor],
        output: &mut OutputBuffer,
    ) -> Result<(), KernelError> {
        self.check(kernel, variant, problem)?;
        problem.validate_buffers(variant, inputs, output)?;
        let k = self.kernel(kernel, problem)?;
        let plan = self.plan(k, variant, problem)?;
        let pipelines = self.pipeline(k, variant)?;
        let input_bytes: Vec<&[u8]> = inputs.iter().map(|t| t.bytes.as_slice()).collect();
        let passes: Vec<(&wgpu::ComputePipeline, [u32; 3])> = pipelines
            .iter()
            .zip(&plan.passes)
            .map(|(pipeline, grid)| (pipeline, grid.map(|g| g as u32)))
            .collect();
        self.gpu.dispatch(
            &passes,
            &input_bytes,
            output.bytes_mut(),
            &plan.params,
            &plan.scratch,
        )
    }
}
