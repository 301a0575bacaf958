//! Problems only visible after layering: a sequence whose first keys are also bound alone
//! (it could never be typed), and a key that silently changes between harmless and
//! destructive from one context to its fallback.

use super::{Binding, Keymap, chain, is_destructive, seq_label};
use crate::tui::config::Problem;

pub fn validate(km: &Keymap) -> Vec<Problem> {
    let mut problems = Vec::new();
    for ctx in km.context_names() {
        let effective = km.effective(ctx);
        // Prefix conflicts: reported in the context where the longer sequence is defined, so
        // a pair is reported once even though sub-contexts inherit it.
        for (long, (long_ctx, long_b)) in &effective {
            if *long_ctx != ctx || long.len() < 2 {
                continue;
            }
            for n in 1..long.len() {
                if let Some((short_ctx, short_b)) = effective.get(&long[..n]) {
                    problems.push(Problem::error(
                        &long_b.file,
                        long_b.line,
                        format!(
                            "[{ctx}] {:?} = {:?}: conflicts with {:?} = {:?} in [{short_ctx}] \
                             ({}), which fires first; unbind one of them with \"noop\"",
                            seq_label(long),
                            long_b.action,
                            seq_label(&long[..n]),
                            short_b.action,
                            short_b.file,
                        ),
                    ));
                }
            }
        }
        // Shadowing: a context binding replacing a fallback's binding, where one of the two
        // is destructive (a muscle-memory trap).
        let Some(own) = km.context(ctx) else { continue };
        for (seq, b) in own {
            for parent in chain(ctx).into_iter().skip(1) {
                let Some(pb) = km.context(parent).and_then(|m| m.get(seq)) else {
                    continue;
                };
                if risky(b, pb) {
                    problems.push(Problem::warning(
                        &b.file,
                        b.line,
                        format!(
                            "[{ctx}] {:?} = {:?} shadows {:?} = {:?} in [{parent}] ({}); \
                             the same key does something destructive in one of them",
                            seq_label(seq),
                            b.action,
                            seq_label(seq),
                            pb.action,
                            pb.file,
                        ),
                    ));
                }
                break;
            }
        }
    }
    problems
}

fn risky(b: &Binding, parent: &Binding) -> bool {
    b.action != parent.action
        && !parent.is_noop()
        && !b.is_noop()
        && (is_destructive(&b.action) || is_destructive(&parent.action))
}
