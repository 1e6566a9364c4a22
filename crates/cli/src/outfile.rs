//! Output files (`--out`, `--errors`): written to a temporary file in the same directory and
//! renamed into place only after the whole run succeeded, so a failed run leaves no half
//! file and never truncates an existing one first. A file that is also an input of the run
//! (by path or by device and inode, whatever the spelling) is refused before anything starts.

use anyhow::{bail, Context, Result};
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// An output file being written; [`OutFile::commit`] puts it in place, dropping it removes
/// the temporary file.
pub struct OutFile {
    target: PathBuf,
    /// The temporary file, or `None` when writing straight into a device or pipe.
    temp: Option<PathBuf>,
    writer: BufWriter<File>,
}

impl OutFile {
    /// Prepares `target` for writing; `inputs` are the run's input files, which it must not be.
    pub fn create(target: &Path, inputs: &[&Path]) -> Result<OutFile> {
        for input in inputs {
            if same_file(input, target) {
                bail!(
                    "输出文件 {} 与输入文件 {} 是同一个文件：请另选输出文件（否则输入会被覆盖）",
                    target.display(),
                    input.display()
                );
            }
        }
        // A device or pipe (`/dev/stdout`, a FIFO) cannot be renamed onto: write it directly.
        if fs::metadata(target).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
            let f = fs::OpenOptions::new()
                .write(true)
                .open(target)
                .with_context(|| format!("无法打开输出文件 {}", target.display()))?;
            return Ok(OutFile {
                target: target.to_path_buf(),
                temp: None,
                writer: BufWriter::with_capacity(1 << 20, f),
            });
        }
        let name = target
            .file_name()
            .with_context(|| format!("输出文件 {} 不是文件名", target.display()))?;
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(name);
        temp_name.push(format!(".{}.tmp", std::process::id()));
        let temp = dir.join(temp_name);
        let f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .with_context(|| format!("无法在 {} 中创建输出文件", dir.display()))?;
        Ok(OutFile {
            target: target.to_path_buf(),
            temp: Some(temp),
            writer: BufWriter::with_capacity(1 << 20, f),
        })
    }

    /// Flushes, syncs and renames the temporary file onto the target.
    pub fn commit(mut self) -> Result<()> {
        let named = || format!("无法写入输出文件 {}", self.target.display());
        self.writer.flush().with_context(named)?;
        if let Some(temp) = self.temp.take() {
            let done = self
                .writer
                .get_ref()
                .sync_all()
                .and_then(|()| fs::rename(&temp, &self.target));
            if let Err(e) = done {
                let _ = fs::remove_file(&temp);
                return Err(e).with_context(named);
            }
        }
        Ok(())
    }
}

impl Write for OutFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.writer.write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

impl Drop for OutFile {
    fn drop(&mut self) {
        if let Some(temp) = &self.temp {
            let _ = fs::remove_file(temp);
        }
    }
}

/// Whether `a` and `b` name the same existing file: same canonical path, or on Unix the
/// same device and inode (hard links, bind mounts).
pub fn same_file(a: &Path, b: &Path) -> bool {
    let (Ok(ma), Ok(mb)) = (fs::metadata(a), fs::metadata(b)) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if ma.dev() == mb.dev() && ma.ino() == mb.ino() {
            return true;
        }
    }
    let _ = (ma, mb);
    matches!((fs::canonicalize(a), fs::canonicalize(b)), (Ok(x), Ok(y)) if x == y)
}
