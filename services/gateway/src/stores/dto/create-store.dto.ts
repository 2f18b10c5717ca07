import { ApiProperty } from '@nestjs/swagger';
import {
  EngineName,
  engineNames,
  STORE_NAME_MAX_LENGTH,
  STORE_NAME_MIN_LENGTH,
  STORE_NAME_PATTERN,
  storeNameProblem,
} from '@urumi/contracts';
import { IsIn, IsString, registerDecorator, ValidationArguments } from 'class-validator';

/** The same rule, and the same words, as the console's form (from @urumi/contracts). */
function IsStoreName(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isStoreName',
      target: target.constructor,
      propertyName: String(propertyName),
      validator: {
        validate: (value: unknown) => typeof value === 'string' && storeNameProblem(value) === undefined,
        defaultMessage: (args?: ValidationArguments) =>
          typeof args?.value === 'string' ? (storeNameProblem(args.value) ?? '') : 'name must be a string',
      },
    });
}

export class CreateStoreDto {
  @ApiProperty({
    example: 'fashion-boutique',
    minLength: STORE_NAME_MIN_LENGTH,
    maxLength: STORE_NAME_MAX_LENGTH,
    pattern: STORE_NAME_PATTERN.source,
    description:
      'a DNS-1123 label of 3–40 characters; becomes the namespace store-<name> and the host <name>.<baseDomain>',
  })
  @IsString({ message: 'name must be a string' })
  @IsStoreName()
  name!: string;

  @ApiProperty({ enum: Object.keys(engineNames), example: 'woocommerce' })
  @IsIn(Object.keys(engineNames), { message: `engine must be one of: ${Object.keys(engineNames).join(', ')}` })
  engine!: EngineName;
}
