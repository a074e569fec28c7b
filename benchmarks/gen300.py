import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
bal = 1_000_000
lines = ['deal "BIG-300" {', '  settle 2027-01-30', '  first payment 2027-02-25', '  delay 24 days', '}', '',
 'collateral {', f'  pool "FN rep" {{ balance {n*bal:,}  wac 6.0%  coupon 5.5%  term 360  age 0 }}', '}', '']
for i in range(n):
    lines.append(f'class A{i:03d} SEQ balance {bal:,} coupon 5.5%')
lines.append('class R R')
lines += ['', 'waterfall {', '  interest: pay each class its coupon', '  principal {']
for i in range(n):
    lines.append(f'    pay A{i:03d} until retired')
lines += ['  }', '}', '', 'scenarios {', '  pricing 165 PSA', '  decrement 0, 100, 165, 300, 500 PSA', '}']
print("\n".join(lines))
