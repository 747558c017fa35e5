//! Which process backends to start: `--backend-cmd` options and the `[[backend]]` tables of a
//! `crosscheck.toml` in the working directory.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

/// The name of the configuration file looked for in the working directory.
pub const CONFIG_FILE: &str = "crosscheck.toml";

/// How to start one process backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessSpec {
    /// The name it must declare, when the configuration gives one.
    pub name: Option<String>,
    /// The command line, run by the shell.
    pub command: String,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
}

impl ProcessSpec {
    /// A spec from a command line alone.
    pub fn command(command: &str) -> ProcessSpec {
        ProcessSpec {
            name: None,
            command: command.to_string(),
            env: Vec::new(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    backend: Vec<BackendTable>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BackendTable {
    name: Option<String>,
    command: String,
    #[serde(default)]
    env: BTreeMap<String, String>,
}

/// The process backends declared in `path` (none when the file does not exist); `Err` names
/// the file and what is wrong with it.
pub fn load_config(path: &Path) -> Result<Vec<ProcessSpec>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let file: ConfigFile = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    file.backend
        .into_iter()
        .map(|b| {
            if b.command.trim().is_empty() {
                return Err(format!(
                    "{}: a [[backend]] with an empty command",
                    path.display()
                ));
            }
            Ok(ProcessSpec {
                name: b.name,
                command: b.command,
                env: b.env.into_iter().collect(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_files_declare_backends() {
        let dir = std::env::temp_dir().join(format!("crosscheck-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(CONFIG_FILE);
        assert_eq!(load_config(&path).unwrap(), vec![]);
        std::fs::write(
            &path,
            "[[backend]]\nname = \"np\"\ncommand = \"python3 k.py\"\nenv = { A = \"1\" }\n",
        )
        .unwrap();
        let specs = load_config(&path).unwrap();
        assert_eq!(specs[0].name.as_deref(), Some("np"));
        assert_eq!(specs[0].env, vec![("A".into(), "1".into())]);
        std::fs::write(&path, "[[backend]]\ncmd = \"x\"\n").unwrap();
        assert!(load_config(&path).unwrap_err().contains("crosscheck.toml"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
