//! `crosscheck list`: backends, kernels, variants and their declared contracts.

use std::process::ExitCode;

use crosscheck::registry;
use crosscheck_spec::Op;

use crate::say;

/// Lists what this machine offers.
pub fn list() -> ExitCode {
    let reg = registry();
    for b in &reg.all {
        let d = b.device();
        say!("{}  {} ({}; {})", b.name(), d.device, d.api, d.driver);
        for k in b.kernels() {
            say!("  {}/{}: {}", k.op, k.name, k.summary);
            for v in &k.variants {
                let c = &v.contract;
                let state = v
                    .unavailable
                    .as_ref()
                    .map_or(String::new(), |r| format!("  [n/a: {r}]"));
                // What only some ops use: the unfused pipeline (fused kernels) and the MX
                // quantizers' declared scale rule and element rounding.
                let mut only = format!(", unfused-equivalent {}", c.matches_unfused);
                if k.op == Op::Quantize {
                    only += &format!(
                        ", scale rule {}, element rounding {}",
                        c.scale_rule, c.element_rounding
                    );
                }
                say!(
                    "    {:5} acc {}, arithmetic {}, non-finite {}, output rounding {:?}, subnormals {:?}, deterministic {}, batch-invariant {}, chunk-invariant {}, split-invariant {}{only}{state}",
                    v.variant.label(),
                    c.accumulator.name(),
                    c.arithmetic.name(),
                    c.non_finite.name(),
                    c.output_rounding,
                    c.subnormals,
                    c.deterministic,
                    c.batch_invariant,
                    c.chunk_invariant,
                    c.split_invariant
                );
            }
        }
    }
    for m in &reg.missing {
        say!(
            "{}  unavailable: {}\n  hint: {}",
            m.backend,
            m.reason,
            m.hint
        );
    }
    ExitCode::SUCCESS
}
