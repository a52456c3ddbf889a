//! Runs one plumbing command; its failure names the command and what it printed.

use tokio::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum PlumbingError {
    #[error("`{command}` failed: {output}")]
    Failed { command: String, output: String },
    #[error("cannot run `{command}`: {error} (is iproute2 installed?)")]
    Missing { command: String, error: String },
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T> = std::result::Result<T, PlumbingError>;

/// Runs `program args…`, returning its standard output.
pub async fn run(program: &str, args: &[&str]) -> Result<String> {
    let command = format!("{program} {}", args.join(" "));
    let output = Command::new(program)
        .args(args)
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| PlumbingError::Missing {
            command: command.clone(),
            error: e.to_string(),
        })?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        let mut text = String::from_utf8_lossy(&output.stderr).trim().to_string();
        if text.is_empty() {
            text = format!("exit status {}", output.status);
        }
        Err(PlumbingError::Failed {
            command,
            output: text,
        })
    }
}

/// Runs `program args…` with `input` on its standard input.
pub async fn run_with_input(program: &str, args: &[&str], input: &str) -> Result<String> {
    use tokio::io::AsyncWriteExt;
    let command = format!("{program} {}", args.join(" "));
    let missing = |e: std::io::Error| PlumbingError::Missing {
        command: command.clone(),
        error: e.to_string(),
    };
    let mut child = Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(missing)?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes()).await.map_err(missing)?;
    }
    let output = child.wait_with_output().await.map_err(missing)?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(PlumbingError::Failed {
            command,
            output: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        })
    }
}

/// `ip args…` in this process's network namespace.
pub async fn ip(args: &[&str]) -> Result<String> {
    run("ip", args).await
}

/// `ip -n <namespace> args…`.
pub async fn ip_in(namespace: &str, args: &[&str]) -> Result<String> {
    let mut all = vec!["-n", namespace];
    all.extend_from_slice(args);
    run("ip", &all).await
}

/// Whether a failed command failed only because what it adds exists or what it deletes is
/// gone (the idempotent cases).
pub fn already(e: &PlumbingError) -> bool {
    match e {
        PlumbingError::Failed { output, .. } => {
            output.contains("File exists")
                || output.contains("Cannot find device")
                || output.contains("No such file or directory")
                || output.contains("does not exist")
        }
        _ => false,
    }
}

/// Whether the interface exists in this network namespace.
pub async fn link_exists(name: &str) -> bool {
    ip(&["link", "show", "dev", name]).await.is_ok()
}
