// Package parquetrows streams the rows of any Parquet file as generic maps,
// one row group at a time, with parquet-go. Replay sources and evaluation
// sets both read Parquet of unknown schema this way.
package parquetrows

import (
	"context"
	"fmt"
	"io"
	"os"

	pgo "github.com/parquet-go/parquet-go"
)

// Each calls fn with every row of the Parquet file at path, in file order.
// It stops at fn's first error or when ctx is done.
func Each(ctx context.Context, path string, fn func(row map[string]any) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	pf, err := pgo.OpenFile(f, st.Size())
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	sch := pf.Schema()
	buf := make([]pgo.Row, 64)
	for _, rg := range pf.RowGroups() {
		if err := eachInGroup(ctx, sch, rg, buf, fn); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	return nil
}

func eachInGroup(ctx context.Context, sch *pgo.Schema, rg pgo.RowGroup, buf []pgo.Row, fn func(map[string]any) error) error {
	rows := rg.Rows()
	defer rows.Close()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := rows.ReadRows(buf)
		for _, r := range buf[:n] {
			m := map[string]any{}
			if rerr := sch.Reconstruct(&m, r); rerr != nil {
				return rerr
			}
			if ferr := fn(m); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
