//! One opened wgpu device: compiles compute pipelines and runs launches of one or more dispatches, turning every
//! validation error, device loss and overlong wait into a typed [`KernelError`].

use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use crosscheck_spec::KernelError;
use wgpu::util::DeviceExt;

/// Mesa's llvmpipe (gallivm) stops every loop of a shader function once their iterations add up
/// to this many; the invocation then carries on past the loop with whatever it had.
pub const LLVMPIPE_LOOP_LIMIT: u64 = 65535;

/// Default limit on one dispatch plus its read-back.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// An opened adapter: device, queue and what it can do.
pub struct Gpu {
    /// Adapter description (name, driver, API).
    pub info: wgpu::AdapterInfo,
    /// Limits the device was opened with (the adapter's maxima).
    pub limits: wgpu::Limits,
    /// Whether the device was opened with SHADER_F16.
    pub has_f16: bool,
    /// Loop iterations after which the driver ends an invocation, if it does (llvmpipe: 65535,
    /// shared by every loop of a shader function).
    pub loop_limit: Option<u64>,
    device: wgpu::Device,
    queue: wgpu::Queue,
    /// Errors no error scope caught, and device loss, recorded instead of panicking.
    trouble: Arc<Mutex<Option<String>>>,
    timeout: Duration,
}

impl Gpu {
    /// Opens `adapter` with its own limits and SHADER_F16 when available.
    pub fn open(adapter: &wgpu::Adapter) -> Result<Gpu, String> {
        let info = adapter.get_info();
        let limits = adapter.limits();
        let has_f16 = adapter.features().contains(wgpu::Features::SHADER_F16);
        let required_features = if has_f16 {
            wgpu::Features::SHADER_F16
        } else {
            wgpu::Features::empty()
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("crosscheck"),
            required_features,
            required_limits: limits.clone(),
            ..Default::default()
        }))
        .map_err(|e| format!("could not open a device on {}: {e}", info.name))?;
        let trouble = Arc::new(Mutex::new(None));
        let sink = trouble.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            sink.lock()
                .unwrap()
                .get_or_insert_with(|| format!("uncaptured wgpu error: {e}"));
        }));
        let sink = trouble.clone();
        device.set_device_lost_callback(move |reason, message| {
            sink.lock()
                .unwrap()
                .get_or_insert_with(|| format!("device lost ({reason:?}): {message}"));
        });
        let timeout = std::env::var("CROSSCHECK_GPU_TIMEOUT_S")
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .map(Duration::from_secs_f64)
            .unwrap_or(DEFAULT_TIMEOUT);
        let loop_limit = info
            .name
            .contains("llvmpipe")
            .then_some(LLVMPIPE_LOOP_LIMIT);
        Ok(Gpu {
            info,
            limits,
            has_f16,
            loop_limit,
            device,
            queue,
            trouble,
            timeout,
        })
    }

    /// Compiles `source` into one compute pipeline per entry point in `entry_points`, all sharing
    /// one explicit layout of `storage` storage buffers (the last one writable), one uniform
    /// buffer, then `scratch` writable storage buffers, so one bind group serves every pass.
    pub fn compile(
        &self,
        label: &str,
        source: &str,
        entry_points: &[&str],
        storage: usize,
        scratch: usize,
    ) -> Result<Vec<wgpu::ComputePipeline>, KernelError> {
        self.healthy()?;
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = self
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(label),
                source: wgpu::ShaderSource::Wgsl(source.into()),
            });
        let layout = self.bind_group_layout(storage, scratch);
        let pipeline_layout = self
            .device
            .create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some(label),
                bind_group_layouts: &[Some(&layout)],
                immediate_size: 0,
            });
        let pipelines = entry_points
            .iter()
            .map(|&entry| {
                self.device
                    .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                        label: Some(label),
                        layout: Some(&pipeline_layout),
                        module: &module,
                        entry_point: Some(entry),
                        // Every kernel writes its workgroup memory before reading it (behind a
                        // barrier). wgpu's zero-fill becomes, on GL, an array constructor per
                        // workgroup array that Mesa's GLSL compiler takes seconds to digest.
                        compilation_options: wgpu::PipelineCompilationOptions {
                            zero_initialize_workgroup_memory: false,
                            ..Default::default()
                        },
                        cache: None,
                    })
            })
            .collect();
        match pollster::block_on(scope.pop()) {
            Some(e) => Err(KernelError::Compile(format!(
                "{label} does not compile: {e}"
            ))),
            None => Ok(pipelines),
        }
    }

    /// Runs the `passes` (a pipeline from one [`Gpu::compile`] and its workgroup counts) one
    /// after the other in one compute pass over the same bindings: `inputs` are bound read-only
    /// in order, then `output` (uploaded as it is and read back whole after the last pass), then
    /// `params` as the uniform buffer, then zero-filled scratch buffers of the given sizes, which
    /// carry what one pass leaves for the next (WebGPU orders the dispatches' storage accesses).
    pub fn dispatch(
        &self,
        passes: &[(&wgpu::ComputePipeline, [u32; 3])],
        inputs: &[&[u8]],
        output: &mut [u8],
        params: &[u8],
        scratch: &[u64],
    ) -> Result<(), KernelError> {
        let Some(&(first, _)) = passes.first() else {
            return Err(KernelError::Device("a launch without passes".into()));
        };
        self.healthy()?;
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let buffers: Vec<wgpu::Buffer> = inputs
            .iter()
            .chain([&&*output])
            .map(|bytes| {
                self.device
                    .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                        label: None,
                        contents: &padded(bytes),
                        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                    })
            })
            .collect();
        let uniform = self
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("params"),
                contents: &padded(params),
                usage: wgpu::BufferUsages::UNIFORM,
            });
        let out_buffer = &buffers[buffers.len() - 1];
        let readback = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: out_buffer.size(),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut entries: Vec<wgpu::BindGroupEntry> = buffers
            .iter()
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: b.as_entire_binding(),
            })
            .collect();
        entries.push(wgpu::BindGroupEntry {
            binding: buffers.len() as u32,
            resource: uniform.as_entire_binding(),
        });
        let scratch_buffers: Vec<wgpu::Buffer> = scratch
            .iter()
            .map(|&size| {
                self.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("scratch"),
                    size: size.next_multiple_of(4).max(4),
                    usage: wgpu::BufferUsages::STORAGE,
                    mapped_at_creation: false,
                })
            })
            .collect();
        for (i, b) in scratch_buffers.iter().enumerate() {
            entries.push(wgpu::BindGroupEntry {
                binding: (buffers.len() + 1 + i) as u32,
                resource: b.as_entire_binding(),
            });
        }
        let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &first.get_bind_group_layout(0),
            entries: &entries,
        });
        let mut encoder = self.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_bind_group(0, &bind_group, &[]);
            for (pipeline, workgroups) in passes {
                pass.set_pipeline(pipeline);
                pass.dispatch_workgroups(workgroups[0], workgroups[1], workgroups[2]);
            }
        }
        encoder.copy_buffer_to_buffer(out_buffer, 0, &readback, 0, out_buffer.size());
        let submission = self.queue.submit([encoder.finish()]);
        if let Some(e) = pollster::block_on(oom.pop()) {
            return Err(KernelError::Device(format!("out of device memory: {e}")));
        }
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(KernelError::Device(format!("dispatch rejected: {e}")));
        }
        let (tx, rx) = mpsc::channel();
        readback.slice(..).map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        match self.device.poll(wgpu::PollType::Wait {
            submission_index: Some(submission),
            timeout: Some(self.timeout),
        }) {
            Ok(_) => {}
            Err(wgpu::PollError::Timeout) => return Err(KernelError::Timeout(self.timeout)),
            Err(e) => {
                return Err(KernelError::Device(format!(
                    "waiting for the dispatch failed: {e}"
                )));
            }
        }
        match rx.recv_timeout(self.timeout) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                return Err(KernelError::Device(format!(
                    "reading the output back failed: {e}"
                )));
            }
            Err(_) => return Err(KernelError::Timeout(self.timeout)),
        }
        self.healthy()?;
        let view = readback
            .slice(..)
            .get_mapped_range()
            .map_err(|e| KernelError::Device(e.to_string()))?;
        output.copy_from_slice(&view[..output.len()]);
        Ok(())
    }

    /// Fails once the device was lost or an error escaped every scope.
    fn healthy(&self) -> Result<(), KernelError> {
        match self.trouble.lock().unwrap().as_ref() {
            Some(t) => Err(KernelError::Device(t.clone())),
            None => Ok(()),
        }
    }

    fn bind_group_layout(&self, storage: usize, scratch: usize) -> wgpu::BindGroupLayout {
        let buffer = |binding: u32, ty: wgpu::BufferBindingType| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty,
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        };
        let mut entries: Vec<_> = (0..storage)
            .map(|i| {
                let read_only = i + 1 < storage;
                buffer(i as u32, wgpu::BufferBindingType::Storage { read_only })
            })
            .collect();
        entries.push(buffer(storage as u32, wgpu::BufferBindingType::Uniform));
        entries.extend((0..scratch).map(|i| {
            let binding = (storage + 1 + i) as u32;
            buffer(
                binding,
                wgpu::BufferBindingType::Storage { read_only: false },
            )
        }));
        self.device
            .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: None,
                entries: &entries,
            })
    }
}

/// Copies `bytes`, padded with zeros to a non-zero multiple of 4 bytes (wgpu's copy alignment).
fn padded(bytes: &[u8]) -> Vec<u8> {
    let mut v = bytes.to_vec();
    v.resize(bytes.len().next_multiple_of(4).max(4), 0);
    v
}
