// SPDX-License-Identifier: GPL-2.0
/*
 * PCI addresses and the passability rule, written against the shim only
 * so that vanityctl (from sysfs), the module (from its structures) and
 * the tests decide alike.
 */
#include "pci.h"

#define ECHO_MAX	24	/* bytes of offending input quoted in a reason */
#define CLASS_BRIDGE		0x06	/* base class of every bridge */
#define HEADER_ENDPOINT		0	/* header type 0: not a bridge's */

#define reason(err, errlen, ...) do {					\
	if ((err) && (errlen))						\
		snprintf((err), (errlen), __VA_ARGS__);			\
} while (0)

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Exactly @digits hex digits at *@pp, then @sep (or the end when @sep is
 * NUL). Fixed widths, as sysfs writes them and as lspci -D prints them.
 */
static int field(const char **pp, unsigned int digits, char sep,
		 unsigned int *out)
{
	const char *p = *pp;
	unsigned int v = 0, i;
	int d;

	for (i = 0; i < digits; i++) {
		d = hex_digit(p[i]);
		if (d < 0)
			return -EINVAL;
		v = v << 4 | (unsigned int)d;
	}
	if (p[digits] != sep)
		return -EINVAL;
	*out = v;
	*pp = p + digits + (sep ? 1 : 0);
	return 0;
}

int vanity_pci_addr_parse(const char *s, struct vanity_pci_addr *a,
			  char *err, size_t errlen)
{
	unsigned int dom = 0, bus, dev, fn;
	const char *p = s;
	size_t n = 0;

	while (s[n] && n <= ECHO_MAX)
		n++;
	/* With a domain, the fifth character is its colon. */
	if (n > 4 && s[4] == ':' && field(&p, 4, ':', &dom))
		goto bad;
	if (field(&p, 2, ':', &bus) || field(&p, 2, '.', &dev) ||
	    field(&p, 1, '\0', &fn))
		goto bad;
	if (dev > 0x1f) {
		reason(err, errlen, "device %02x is above 1f in '%s'", dev, s);
		return -EINVAL;
	}
	if (fn > 7) {
		reason(err, errlen, "function %x is above 7 in '%s'", fn, s);
		return -EINVAL;
	}
	a->domain = (u16)dom;
	a->bus = (u8)bus;
	a->devfn = (u8)(dev << 3 | fn);
	return 0;
bad:
	reason(err, errlen, "'%.*s%s' is not a PCI address (DDDD:BB:DD.F)",
	       (int)(n > ECHO_MAX ? ECHO_MAX : n), s, n > ECHO_MAX ? "..." : "");
	return -EINVAL;
}

void vanity_pci_addr_format(const struct vanity_pci_addr *a,
			    char buf[VANITY_PCI_ADDR_LEN])
{
	snprintf(buf, VANITY_PCI_ADDR_LEN, "%04x:%02x:%02x.%x", a->domain,
		 a->bus, a->devfn >> 3, a->devfn & 7);
}

int vanity_pci_passable(const struct vanity_pci_facts *f, char *why,
			size_t whylen)
{
	unsigned int behind = 0;
	const char *unknown[3];
	unsigned int nu = 0;

	if ((f->class >> 16) == CLASS_BRIDGE ||
	    f->header_type != HEADER_ENDPOINT) {
		reason(why, whylen, "it is a bridge, not an endpoint");
		return -EINVAL;
	}
	switch (f->dma) {
	case VANITY_PCI_DMA_NONE:
		reason(why, whylen,
		       "it has no IOMMU group: no IOMMU translates its DMA");
		return -ENODEV;
	case VANITY_PCI_DMA_IDENTITY:
		reason(why, whylen,
		       "its IOMMU group %d is in passthrough (identity) mode, so its DMA would reach all memory",
		       f->group);
		return -EPERM;
	case VANITY_PCI_DMA_UNKNOWN:
		unknown[nu++] = "its IOMMU";
		break;
	case VANITY_PCI_DMA_TRANSLATED:
	case VANITY_PCI_DMA_BLOCKED:
		break;
	}
	if (f->group_others > f->group_others_same_owner)
		behind = f->group_others - f->group_others_same_owner;
	if (behind) {
		reason(why, whylen,
		       "its IOMMU group %d holds %u other function%s not passed with it",
		       f->group, behind, behind == 1 ? "" : "s");
		return -EBUSY;
	}
	if (f->msi == VANITY_TRI_NO) {
		reason(why, whylen,
		       "it has neither MSI nor MSI-X, and a shard never gets INTx");
		return -EOPNOTSUPP;
	}
	if (f->msi == VANITY_TRI_UNKNOWN)
		unknown[nu++] = "its MSI";
	if (f->isolated_msi == VANITY_TRI_NO) {
		reason(why, whylen,
		       "its interrupts are not isolated (no interrupt remapping)");
		return -EPERM;
	}
	if (f->isolated_msi == VANITY_TRI_UNKNOWN)
		unknown[nu++] = "interrupt remapping";
	if (nu == 0)
		reason(why, whylen, "%s", "");
	else
		reason(why, whylen, "%s%s%s%s%s not checked until up", unknown[0],
		       nu > 1 ? (nu > 2 ? ", " : " and ") : "",
		       nu > 1 ? unknown[1] : "", nu > 2 ? " and " : "",
		       nu > 2 ? unknown[2] : "");
	return 0;
}
