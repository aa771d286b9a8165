package keyring

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// filePollInterval is how often Watch looks at the file. Polling (not inotify) keeps the store
// dependency-free and also works on network filesystems and for mounted secrets.
const filePollInterval = 200 * time.Millisecond

// fileBackend keeps the keyring in one file, replaced atomically (temp file, fsync, rename, fsync
// of the directory). Writers serialise on flock(2) of "<path>.lock" (across processes) and on mu
// (within one, so goroutines do not each hold an OS thread in flock).
type fileBackend struct {
	path string
	mu   sync.Mutex
}

func newFileBackend(path string) *fileBackend { return &fileBackend{path: path} }

func (f *fileBackend) read(context.Context) ([]byte, error) {
	fh, err := os.Open(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("keyring file %s: %w", f.path, ErrNotInitialized)
	}
	if err != nil {
		return nil, fmt.Errorf("keyring file: %w", err)
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, maxSealedSize+1))
	if err != nil {
		return nil, fmt.Errorf("keyring file: %w", err)
	}
	return b, nil
}

// lock takes the exclusive writer lock; the returned func releases it.
func (f *fileBackend) lock() (func(), error) {
	f.mu.Lock()
	lf, err := os.OpenFile(f.path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		f.mu.Unlock()
		return nil, fmt.Errorf("keyring file lock: %w", err)
	}
	for {
		err = syscall.Flock(int(lf.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		lf.Close()
		f.mu.Unlock()
		return nil, fmt.Errorf("keyring file lock: %w", err)
	}
	return func() {
		_ = syscall.Flock(int(lf.Fd()), syscall.LOCK_UN)
		lf.Close()
		f.mu.Unlock()
	}, nil
}

func (f *fileBackend) create(_ context.Context, data []byte, _ uint64) error {
	unlock, err := f.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := os.Lstat(f.path); err == nil {
		return fmt.Errorf("keyring file %s: %w", f.path, ErrExists)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("keyring file: %w", err)
	}
	return f.writeAtomic(data)
}

func (f *fileBackend) update(ctx context.Context, fn func([]byte) ([]byte, uint64, error)) error {
	unlock, err := f.lock()
	if err != nil {
		return err
	}
	defer unlock()
	old, err := f.read(ctx)
	if err != nil {
		return err
	}
	data, _, err := fn(old)
	if err != nil || data == nil {
		return err
	}
	return f.writeAtomic(data)
}

// writeAtomic replaces the file so that a reader sees the old or the new bytes, never a mix, and
// a crash leaves one of the two on disk.
func (f *fileBackend) writeAtomic(data []byte) error {
	dir := filepath.Dir(f.path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(f.path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("keyring file write: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("keyring file write: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("keyring file write: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("keyring file write: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("keyring file write: %w", err)
	}
	if err := os.Rename(tmp.Name(), f.path); err != nil {
		return fmt.Errorf("keyring file write: %w", err)
	}
	// The rename is durable only once the directory entry is.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// fileStamp identifies one version of the file: a rename gives a new inode.
type fileStamp struct {
	ino, size int64
	mtime     time.Time
}

func stampOf(path string) fileStamp {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}
	}
	st := fileStamp{size: fi.Size(), mtime: fi.ModTime()}
	if s, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.ino = int64(s.Ino)
	}
	return st
}

func (f *fileBackend) watch(ctx context.Context, fn func()) error {
	last := stampOf(f.path)
	fn()
	t := time.NewTicker(filePollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			if cur := stampOf(f.path); cur != last {
				last = cur
				fn()
			}
		}
	}
}

func (f *fileBackend) close() error { return nil }
