//! An API this platform should offer but where no usable adapter was found: what the matrix
//! lists as unavailable, with the reason and how to install it.

/// An API expected on this platform for which no usable adapter was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingApi {
    /// Backend name it would have had, e.g. `wgpu-vulkan`.
    pub backend: String,
    /// API name, e.g. `vulkan`.
    pub api: &'static str,
    /// What went wrong.
    pub reason: String,
    /// How to fix it.
    pub hint: String,
}
