package seal

import (
	"container/list"
	"sync"

	"github.com/pgseal/pgseal/internal/rewrite"
)

// planKey is what an analysis depends on: the catalog version and the SQL text (or, with shape
// set, a rewrite.Shape key: the text without its literals).
type planKey struct {
	version uint64
	sql     string
	shape   bool
}

type planEntry struct {
	key  planKey
	plan *rewrite.Plan
	err  error
	tmpl *rewrite.Template // shape entries: nil when the shape's plans cannot be templated
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
	c.add(&planEntry{key: k, plan: p, err: err})
}

// template returns the template stored for a shape key (nil: the shape has none) and whether the
// shape is known.
func (c *planCache) template(k planKey) (*rewrite.Template, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		return nil, false
	}
	c.ll.MoveToFront(el)
	return el.Value.(*planEntry).tmpl, true
}

func (c *planCache) putTemplate(k planKey, t *rewrite.Template) {
	c.add(&planEntry{key: k, tmpl: t})
}

func (c *planCache) add(e *planEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := e.key
	if el, ok := c.items[k]; ok {
		c.ll.MoveToFront(el)
		return
	}
	c.items[k] = c.ll.PushFront(e)
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
