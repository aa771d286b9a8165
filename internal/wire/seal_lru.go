package wire

import (
	"container/list"
	"sync"

	"github.com/pgseal/pgseal/internal/rewrite"
)

// planKey is what an analysis depends on: the catalog version and the SQL text.
type planKey struct {
	version uint64
	sql     string
}

type planEntry struct {
	key  planKey
	plan *rewrite.Plan
	err  error
}

// planCache is a bounded LRU of Analyze results (errors included: a refused text is usually sent
// again). Plans are immutable, so sessions share them.
type planCache struct {
	mu    sync.Mutex
	max   int
	ll    *list.List
	items map[planKey]*list.Element
}

func newPlanCache(max int) *planCache {
	return &planCache{max: max, ll: list.New(), items: map[planKey]*list.Element{}}
}

func (c *planCache) get(k planKey) (*rewrite.Plan, error, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		return nil, nil, false
	}
	c.ll.MoveToFront(el)
	e := el.Value.(*planEntry)
	return e.plan, e.err, true
}

func (c *planCache) put(k planKey, p *rewrite.Plan, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		c.ll.MoveToFront(el)
		return
	}
	c.items[k] = c.ll.PushFront(&planEntry{key: k, plan: p, err: err})
	for c.ll.Len() > c.max {
		old := c.ll.Back()
		c.ll.Remove(old)
		delete(c.items, old.Value.(*planEntry).key)
	}
}

func (c *planCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}
