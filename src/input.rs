//! Reading the files a run depends on (sources, configuration, baselines): regular files only, and
//! never more than a cap. A FIFO would block the reader forever and a device such as `/dev/zero`
//! (whose metadata says 0 bytes) would never end, so both are refused before or right after opening.
use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Why a file was not read.
#[derive(Debug)]
pub enum ReadError {
    /// A FIFO, device, socket or directory: `file_type` says which ("a FIFO", ...).
    NotRegular { file_type: &'static str },
    /// Above `limit` bytes (`bytes` is what the metadata said, or at least `limit + 1` when the
    /// file grew while it was read).
    TooLarge { bytes: u64, limit: u64 },
    /// Opening or reading failed.
    Io(std::io::Error),
    /// Read as text, but not UTF-8.
    NotUtf8,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::NotRegular { file_type } => write!(f, "not a regular file ({file_type})"),
            ReadError::TooLarge { bytes, limit } => {
                write!(f, "{bytes} bytes, above the limit of {limit} bytes")
            }
            ReadError::Io(e) => e.fmt(f),
            ReadError::NotUtf8 => f.write_str("not valid UTF-8"),
        }
    }
}

/// The cap for files read for their structure rather than analysed (manifests, module
/// declarations): a real one is far smaller, and a larger one is not analysed anyway.
pub const STRUCTURE_BYTES: u64 = 10 << 20;

/// Reads the regular file at `path` (symlinks followed), at most `limit` bytes of it.
pub fn read_regular_file(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    // Checked before opening: opening a FIFO blocks until a writer comes, and opening a device
    // may have side effects.
    let meta = std::fs::metadata(path).map_err(ReadError::Io)?;
    check_regular(&meta)?;
    if meta.len() > limit {
        return Err(ReadError::TooLarge {
            bytes: meta.len(),
            limit,
        });
    }
    let file = open_without_blocking(path).map_err(ReadError::Io)?;
    // Checked again on the open handle: the path may have been replaced in between.
    check_regular(&file.metadata().map_err(ReadError::Io)?)?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // One byte more than the limit tells a file that grew past it from one that is exactly at it.
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge {
            bytes: meta.len().max(bytes.len() as u64),
            limit,
        });
    }
    Ok(bytes)
}

/// Like [`read_regular_file`], for a file that must be UTF-8 text.
pub fn read_regular_text(path: &Path, limit: u64) -> Result<String, ReadError> {
    String::from_utf8(read_regular_file(path, limit)?).map_err(|_| ReadError::NotUtf8)
}

fn check_regular(meta: &std::fs::Metadata) -> Result<(), ReadError> {
    if meta.is_file() {
        Ok(())
    } else {
        Err(ReadError::NotRegular {
            file_type: describe(&meta.file_type()),
        })
    }
}

#[cfg(unix)]
fn describe(file_type: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn describe(file_type: &std::fs::FileType) -> &'static str {
    if file_type.is_dir() {
        "a directory"
    } else {
        "a special file"
    }
}

/// Opens for reading; on Unix with `O_NONBLOCK`, so that a FIFO swapped in after the check cannot
/// block the open (the flag changes nothing for a regular file).
#[cfg(unix)]
fn open_without_blocking(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_without_blocking(path: &Path) -> std::io::Result<File> {
    File::open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_up_to_the_limit_and_refuses_more() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.rs");
        std::fs::write(&path, "12345").unwrap();
        assert_eq!(read_regular_file(&path, 5).unwrap(), b"12345");
        assert!(matches!(
            read_regular_file(&path, 4),
            Err(ReadError::TooLarge { bytes: 5, limit: 4 })
        ));
        assert!(matches!(
            read_regular_file(dir.path(), 5),
            Err(ReadError::NotRegular {
                file_type: "a directory"
            })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn refuses_devices_whose_metadata_says_empty() {
        let err = read_regular_file(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert_eq!(err.to_string(), "not a regular file (a character device)");
    }
}
