// SPDX-License-Identifier: GPL-2.0
/*
 * PCI functions in the core: address parsing and formatting (every
 * refusal and its reason) and the passability rule, each reason and the
 * order in which the rules decide.
 */
#include <string.h>

#include <criterion/criterion.h>

#include "pci.h"

static void parse_ok(const char *s, unsigned int dom, unsigned int bus,
		     unsigned int dev, unsigned int fn)
{
	struct vanity_pci_addr a = { 0xffff, 0xff, 0xff };
	char err[128] = "";

	cr_assert_eq(vanity_pci_addr_parse(s, &a, err, sizeof(err)), 0,
		     "'%s': %s", s, err);
	cr_assert_eq(a.domain, dom, "'%s': domain %x", s, a.domain);
	cr_assert_eq(a.bus, bus, "'%s': bus %x", s, a.bus);
	cr_assert_eq(a.devfn, dev << 3 | fn, "'%s': devfn %x", s, a.devfn);
}

static void parse_bad(const char *s, const char *reason)
{
	struct vanity_pci_addr a = { 0x1234, 0x56, 0x78 };
	char err[128] = "";

	cr_assert_eq(vanity_pci_addr_parse(s, &a, err, sizeof(err)), -EINVAL,
		     "'%s' accepted", s);
	cr_assert(strstr(err, reason), "'%s': got '%s', want '%s'", s, err,
		  reason);
	cr_assert(a.domain == 0x1234 && a.bus == 0x56 && a.devfn == 0x78,
		  "'%s' changed the address on refusal", s);
}

Test(pci, addresses_parse_with_and_without_a_domain)
{
	parse_ok("0000:00:04.0", 0, 0, 4, 0);
	parse_ok("00:04.0", 0, 0, 4, 0);
	parse_ok("ffff:ff:1f.7", 0xffff, 0xff, 0x1f, 7);
	parse_ok("ABCD:eF:1A.3", 0xabcd, 0xef, 0x1a, 3);
	parse_ok("0001:3a:00.1", 1, 0x3a, 0, 1);
}

Test(pci, bad_addresses_are_refused_with_a_reason)
{
	parse_bad("", "is not a PCI address");
	parse_bad("0000:00:04", "is not a PCI address");
	parse_bad("0000:00:04.0 ", "is not a PCI address");
	parse_bad(" 0000:00:04.0", "is not a PCI address");
	parse_bad("0:0:4.0", "is not a PCI address");
	parse_bad("00000:00:04.0", "is not a PCI address");
	parse_bad("0000:00:04.00", "is not a PCI address");
	parse_bad("0000:g0:04.0", "is not a PCI address");
	parse_bad("0000-00-04.0", "is not a PCI address");
	parse_bad("0000:00:20.0", "device 20 is above 1f");
	parse_bad("00:ff.0", "device ff is above 1f");
	parse_bad("0000:00:04.8", "function 8 is above 7");
	/* Long input is quoted in part only. */
	parse_bad("0000:00:04.0000000000000000000000000000000000000", "...");
}

Test(pci, a_null_reason_buffer_is_allowed)
{
	struct vanity_pci_addr a;

	cr_assert_eq(vanity_pci_addr_parse("zz", &a, NULL, 0), -EINVAL);
	cr_assert_eq(vanity_pci_addr_parse("00:01.2", &a, NULL, 0), 0);
	cr_assert_eq(a.devfn, 1 << 3 | 2);
}

Test(pci, format_round_trips)
{
	static const char *const in[] = {
		"0000:00:04.0", "ffff:ff:1f.7", "0001:3a:00.1", "0000:00:1f.3",
	};
	char buf[VANITY_PCI_ADDR_LEN];
	struct vanity_pci_addr a;
	size_t i;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		cr_assert_eq(vanity_pci_addr_parse(in[i], &a, NULL, 0), 0);
		memset(buf, 'x', sizeof(buf));
		vanity_pci_addr_format(&a, buf);
		cr_assert_str_eq(buf, in[i]);
	}
	a = (struct vanity_pci_addr){ 0xab, 0xc, 0x0b };
	vanity_pci_addr_format(&a, buf);
	cr_assert_str_eq(buf, "00ab:0c:01.3");
}

/* An endpoint every rule passes: the test VM's edu. */
static struct vanity_pci_facts good(void)
{
	return (struct vanity_pci_facts){
		.addr = { 0, 0, 4 << 3 },
		.class = 0x00ff00,
		.header_type = 0,
		.group = 3,
		.dma = VANITY_PCI_DMA_TRANSLATED,
		.msi = VANITY_TRI_YES,
		.isolated_msi = VANITY_TRI_YES,
	};
}

static void refused(const struct vanity_pci_facts *f, int err,
		    const char *reason)
{
	char why[160] = "";

	cr_assert_eq(vanity_pci_passable(f, why, sizeof(why)), err,
		     "want %d (%s), got '%s'", err, reason, why);
	cr_assert(strstr(why, reason), "got '%s', want '%s'", why, reason);
}

Test(pci, a_confined_endpoint_with_msi_passes_with_nothing_to_say)
{
	struct vanity_pci_facts f = good();
	char why[160] = "untouched";

	cr_assert_eq(vanity_pci_passable(&f, why, sizeof(why)), 0);
	cr_assert_str_empty(why);
	f.dma = VANITY_PCI_DMA_BLOCKED;
	cr_assert_eq(vanity_pci_passable(&f, why, sizeof(why)), 0);
	cr_assert_eq(vanity_pci_passable(&f, NULL, 0), 0);
}

Test(pci, each_rule_refuses_with_its_errno_and_reason)
{
	struct vanity_pci_facts f;

	f = good();
	f.class = 0x060400;
	refused(&f, -EINVAL, "it is a bridge");
	f = good();
	f.header_type = 1;
	refused(&f, -EINVAL, "it is a bridge");
	f = good();
	f.dma = VANITY_PCI_DMA_NONE;
	f.group = -1;
	refused(&f, -ENODEV, "no IOMMU group");
	f = good();
	f.dma = VANITY_PCI_DMA_IDENTITY;
	refused(&f, -EPERM, "IOMMU group 3 is in passthrough (identity) mode");
	f = good();
	f.group_others = 1;
	refused(&f, -EBUSY, "IOMMU group 3 holds 1 other function not passed");
	f.group_others = 3;
	f.group_others_same_owner = 1;
	refused(&f, -EBUSY, "holds 2 other functions not passed");
	f = good();
	f.msi = VANITY_TRI_NO;
	refused(&f, -EOPNOTSUPP, "neither MSI nor MSI-X");
	f = good();
	f.isolated_msi = VANITY_TRI_NO;
	refused(&f, -EPERM, "not isolated");
}

Test(pci, a_group_passed_whole_to_one_shard_passes)
{
	struct vanity_pci_facts f = good();

	f.group_others = 2;
	f.group_others_same_owner = 2;
	cr_assert_eq(vanity_pci_passable(&f, NULL, 0), 0);
	/* Inconsistent counts from a platform never underflow into a pass
	 * or a refusal of billions. */
	f.group_others_same_owner = 5;
	cr_assert_eq(vanity_pci_passable(&f, NULL, 0), 0);
}

Test(pci, the_first_failing_rule_decides)
{
	struct vanity_pci_facts f = good();

	f.class = 0x060000;
	f.dma = VANITY_PCI_DMA_NONE;
	f.msi = VANITY_TRI_NO;
	refused(&f, -EINVAL, "bridge");
	f.class = 0x010802;
	refused(&f, -ENODEV, "no IOMMU");
	f.dma = VANITY_PCI_DMA_IDENTITY;
	f.group_others = 1;
	refused(&f, -EPERM, "passthrough");
	f.dma = VANITY_PCI_DMA_TRANSLATED;
	refused(&f, -EBUSY, "other function");
	f.group_others = 0;
	f.isolated_msi = VANITY_TRI_NO;
	refused(&f, -EOPNOTSUPP, "MSI-X");
}

Test(pci, unknown_facts_pass_and_are_named)
{
	struct vanity_pci_facts f = good();
	char why[160];

	f.isolated_msi = VANITY_TRI_UNKNOWN;
	cr_assert_eq(vanity_pci_passable(&f, why, sizeof(why)), 0);
	cr_assert_str_eq(why, "interrupt remapping not checked until up");
	f.msi = VANITY_TRI_UNKNOWN;
	cr_assert_eq(vanity_pci_passable(&f, why, sizeof(why)), 0);
	cr_assert_str_eq(why, "its MSI and interrupt remapping not checked until up");
	f.dma = VANITY_PCI_DMA_UNKNOWN;
	cr_assert_eq(vanity_pci_passable(&f, why, sizeof(why)), 0);
	cr_assert_str_eq(why,
			 "its IOMMU, its MSI and interrupt remapping not checked until up");
}
